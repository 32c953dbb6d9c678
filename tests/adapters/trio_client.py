"""The trio-websocket adapter.

``trio_websocket.open_websocket_url`` needs a nursery that stays open from connect to close,
so the adapter is sync: ``connect`` starts an anyio blocking portal on trio, enters the
client's context manager through ``portal.wrap_async_context_manager`` and makes each call
with ``portal.call``; ``close`` exits both.

trio-websocket 0.12 never closes its socket when the opening handshake fails, and after a
protocol error it neither sends a close frame nor closes its socket (TCP stays open until the
socket object is freed, at once or when the garbage collector runs). So that a verdict does
not depend on the collector, ``close`` closes the socket the client left open, and a failed
connect closes the sockets trio made for it at once (:class:`_Sockets`, trio's socket factory).
"""

from __future__ import annotations

import contextlib
import socket
import ssl as _ssl
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import h11
import trio
import wsproto.utilities
from anyio.from_thread import BlockingPortal, start_blocking_portal
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
    open_websocket_url,
)

from .failure import ClientFailure, failure

T = TypeVar("T")

_TRIO_WEBSOCKET = (
    HandshakeError,
    OSError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    h11.ProtocolError,
    wsproto.utilities.ProtocolError,
)


def _leaf(exc: BaseException) -> BaseException:
    """The one exception inside (nested) exception groups of one exception each."""
    inner = getattr(exc, "exceptions", None)  # an exception group (Python 3.11+)
    while isinstance(inner, tuple) and len(inner) == 1 and isinstance(inner[0], BaseException):
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


def _translate(exc: BaseException) -> BaseException:
    leaf = _leaf(exc)
    if isinstance(leaf, ConnectionClosed):
        code = None if leaf.reason is None else leaf.reason.code
        return ClientFailure(f"ConnectionClosed({code})", str(leaf.reason))
    if isinstance(leaf, _TRIO_WEBSOCKET):
        return failure(leaf, "trio_websocket")
    return exc


class TrioWebsocketSession:
    """One connection: the portal, the client's context manager, and the connection."""

    def __init__(
        self,
        portal_cm: contextlib.AbstractContextManager[BlockingPortal],
        portal: BlockingPortal,
        ws_cm: contextlib.AbstractContextManager[WebSocketConnection],
        ws: WebSocketConnection,
    ) -> None:
        self.portal_cm = portal_cm
        self.portal = portal
        self.ws_cm = ws_cm
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self.closed = False

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return self.portal.call(fn, *args)
        except Exception as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    def send(self, message: str | bytes) -> None:
        self._call(self.ws.send_message, message)

    def receive(self, timeout: float) -> str | bytes:
        async def get() -> str | bytes:
            with trio.fail_after(timeout):
                return await self.ws.get_message()

        try:
            message: str | bytes = self._call(get)
        except trio.TooSlowError:
            raise TimeoutError(f"no message within {timeout} s") from None
        return message

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.ws_cm.__exit__(None, None, None)
        except Exception as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc
        finally:
            self._release()
            self.portal_cm.__exit__(None, None, None)

    def _release(self) -> None:
        # What trio-websocket leaves open: the stdlib socket inside trio's (trio's own close()
        # needs a running trio loop; the stdlib one's close() is idempotent).
        stream: Any = getattr(self.ws, "_stream", None)
        stream = getattr(stream, "transport_stream", stream)  # wss://: the TCP stream under TLS
        sock = getattr(getattr(stream, "socket", None), "_sock", None)
        if sock is not None:
            sock.close()


class _Sockets(trio.abc.SocketFactory):
    """trio's socket factory for one connect, keeping the sockets it made: the socket a failed
    connect leaves open is closed at once, by the adapter, instead of by the collector in some
    later test (a ``ResourceWarning`` there)."""

    def __init__(self) -> None:
        self.made: list[socket.socket] = []

    def socket(
        self,
        family: socket.AddressFamily | int = socket.AF_INET,
        type: socket.SocketKind | int = socket.SOCK_STREAM,
        proto: int = 0,
    ) -> trio.socket.SocketType:
        sock = socket.socket(family, type, proto)
        self.made.append(sock)
        return trio.socket.from_stdlib_socket(sock)

    def close(self) -> None:
        for sock in self.made:
            sock.close()  # the stdlib's close is idempotent


class TrioWebsocket:
    """``trio_websocket.open_websocket_url`` with connect and disconnect timeouts; a read is
    ``get_message()`` under ``trio.fail_after``."""

    name = "trio-websocket"
    failures: tuple[type[BaseException], ...] = (ClientFailure,)

    def connect(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None,
        ca_path: str | None,
        subprotocols: Sequence[str],
        timeout: float,
    ) -> TrioWebsocketSession:
        portal_cm = start_blocking_portal(backend="trio")
        portal = portal_cm.__enter__()
        sockets = _Sockets()
        try:
            portal.call(trio.socket.set_custom_socket_factory, sockets)
            options: dict[str, Any] = {} if ssl is None else {"ssl_context": ssl}
            ws_cm = portal.wrap_async_context_manager(
                open_websocket_url(
                    url,
                    subprotocols=list(subprotocols) or None,
                    connect_timeout=timeout,
                    disconnect_timeout=timeout,
                    **options,
                )
            )
            ws = ws_cm.__enter__()
        except BaseException as exc:
            portal_cm.__exit__(None, None, None)
            translated = _translate(exc)
            if translated is exc:
                raise
            failed = translated
        else:
            return TrioWebsocketSession(portal_cm, portal, ws_cm, ws)
        sockets.close()
        raise failed
