"""pytest-wsmock: pytest fixtures that start a scriptable in-process WebSocket server."""

from ._assertions import ANY
from ._errors import (
    ClientViolationError,
    ConfigError,
    ConnectionClosed,
    RecordMismatch,
    ScriptError,
    ServerError,
    WaitTimeout,
    WsmockError,
)
from ._factory import ServerFactory
from ._faults import TRANSPORT_FAULTS, Fault
from ._frame_violations import FRAME_VIOLATIONS, FrameViolation
from ._handlers import echo, silent
from ._handshake_catalogue import HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS
from ._handshakes import AUTO, WRONG, Handshake
from ._live import Connection
from ._options import TLS_FAULTS, ServerOptions
from ._protocol import (
    CloseCode,
    ExtensionOffer,
    Headers,
    Opcode,
    Request,
    Violation,
)
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message
from ._server import LIMIT_KINDS, MockServer
from ._steps import (
    Step,
    call,
    close,
    expect_binary,
    expect_close,
    expect_json,
    expect_message,
    expect_ping,
    expect_pong,
    expect_text,
    send_binary,
    send_fragmented,
    send_frame,
    send_json,
    send_ping,
    send_pong,
    send_text,
    wait,
    wait_for_release,
)
from ._tls import TlsFault, TlsMaterial
from ._websocket import WebSocket

__all__ = [
    "TLS_FAULTS",
    "TlsFault",
    "LIMIT_KINDS",
    "TRANSPORT_FAULTS",
    "Fault",
    "ANY",
    "RecordMismatch",
    "FRAME_VIOLATIONS",
    "FrameViolation",
    "ScriptError",
    "Step",
    "call",
    "close",
    "expect_binary",
    "expect_close",
    "expect_json",
    "expect_message",
    "expect_ping",
    "expect_pong",
    "expect_text",
    "send_binary",
    "send_fragmented",
    "send_frame",
    "send_json",
    "send_ping",
    "send_pong",
    "send_text",
    "wait",
    "wait_for_release",
    "AUTO",
    "HANDSHAKE_FAILURES",
    "HANDSHAKE_REJECTIONS",
    "WRONG",
    "Handshake",
    "ClientViolationError",
    "CloseCode",
    "CloseInfo",
    "ConfigError",
    "Connection",
    "ConnectionClosed",
    "Direction",
    "ExtensionOffer",
    "Frame",
    "HandshakeResponse",
    "Headers",
    "Message",
    "MockServer",
    "Opcode",
    "Request",
    "ServerError",
    "ServerFactory",
    "ServerOptions",
    "TlsMaterial",
    "Violation",
    "WaitTimeout",
    "WebSocket",
    "WsmockError",
    "echo",
    "silent",
]
