"""pytest-wsmock: pytest fixtures that start a scriptable in-process WebSocket server."""

from ._connection import Connection
from ._driver import WebSocket
from ._errors import (
    ClientViolationError,
    ConfigError,
    ConnectionClosed,
    ServerError,
    WaitTimeout,
    WsmockError,
)
from ._factory import ServerFactory
from ._handlers import echo, silent
from ._handshakes import AUTO, HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS, WRONG, Handshake
from ._options import ServerOptions
from ._protocol import (
    CloseCode,
    ExtensionOffer,
    Headers,
    Opcode,
    Request,
    Violation,
)
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message
from ._server import MockServer
from ._tls import TlsMaterial

__all__ = [
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
