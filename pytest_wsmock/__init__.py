"""pytest-wsmock: pytest fixtures that start a scriptable in-process WebSocket server."""

from ._assertions import ANY
from ._cassette import (
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
    MatchRules,
)
from ._cassette_io import load as load_cassette
from ._cassette_io import save as save_cassette
from ._cassette_secrets import DEFAULT_SECRET_HEADERS, DEFAULT_SECRET_QUERY, Secrets
from ._cassettes import RECORD_MODES
from ._errors import (
    BlockingCallError,
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
from ._handlers import InlineHandler, echo, silent
from ._handshake_catalogue import HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS
from ._handshakes import AUTO, WRONG, Handshake
from ._har import from_har as cassette_from_har
from ._har import to_har as cassette_to_har
from ._http_records import HttpRequest
from ._live import Connection
from ._options import TLS_FAULTS, VIOLATION_KINDS, ServerOptions
from ._protocol import (
    CloseCode,
    ExtensionOffer,
    Headers,
    Opcode,
    Request,
    Violation,
)
from ._proxy import Proxy
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message
from ._replay import Replay
from ._routes import Route
from ._rules import Rule, rule
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
from ._upstream_open import UpstreamError
from ._websocket import Transport, WebSocket

__all__ = [
    # records: what the server saw (_records, _live, _protocol)
    "Connection",
    "Request",
    "HandshakeResponse",
    "Frame",
    "Message",
    "CloseInfo",
    "Direction",
    "Opcode",
    "CloseCode",
    "Headers",
    "ExtensionOffer",
    "Violation",
    "HttpRequest",
    "Route",
    # assertions and errors (_assertions, _errors)
    "ANY",
    "WsmockError",
    "ConfigError",
    "WaitTimeout",
    "ClientViolationError",
    "ScriptError",
    "RecordMismatch",
    "ServerError",
    "ConnectionClosed",
    "BlockingCallError",
    # handshake outcomes (_handshakes, _handshake_catalogue)
    "Handshake",
    "AUTO",
    "WRONG",
    "HANDSHAKE_FAILURES",
    "HANDSHAKE_REJECTIONS",
    # script steps (_steps)
    "Step",
    "send_text",
    "send_binary",
    "send_json",
    "send_fragmented",
    "send_ping",
    "send_pong",
    "send_frame",
    "expect_text",
    "expect_binary",
    "expect_json",
    "expect_message",
    "expect_ping",
    "expect_pong",
    "expect_close",
    "wait",
    "wait_for_release",
    "close",
    "call",
    # background rules (_rules)
    "Rule",
    "rule",
    # deliberate breakage (_frame_violations, _faults)
    "FrameViolation",
    "FRAME_VIOLATIONS",
    "Fault",
    "TRANSPORT_FAULTS",
    # handlers (_websocket, _handlers)
    "WebSocket",
    "Transport",
    "InlineHandler",
    "echo",
    "silent",
    # configuration and TLS (_options, _tls)
    "ServerOptions",
    "VIOLATION_KINDS",
    "TlsFault",
    "TLS_FAULTS",
    "TlsMaterial",
    # servers (_server, _factory)
    "MockServer",
    "ServerFactory",
    "LIMIT_KINDS",
    # proxy, record and replay (_proxy, _replay, _cassette*, _har)
    "Proxy",
    "UpstreamError",
    "Replay",
    "Cassette",
    "CassetteConnection",
    "CassetteRequest",
    "CassetteResponse",
    "CassetteMessage",
    "CassetteClose",
    "MatchRules",
    "Secrets",
    "DEFAULT_SECRET_HEADERS",
    "DEFAULT_SECRET_QUERY",
    "RECORD_MODES",
    "load_cassette",
    "save_cassette",
    "cassette_from_har",
    "cassette_to_har",
]
