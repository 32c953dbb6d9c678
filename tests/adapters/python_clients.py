"""Conformance-kit adapters for the seven Python clients of the project's own tables.

Each adapter drives its client the way the client's documentation shows, with the kit's
timeout as the client's own open, close and receive timeouts. Every failure a client reports
is re-raised as :class:`ClientFailure`, whose ``type`` is what the tables show: the exception's
class name, qualified by its package when it is not the client's own or a builtin
(``httpx.ReadTimeout``), with the HTTP status when the client reports one (``InvalidStatus
(status 404)``), and for the clients that report a close code that is not on the wire, that
code (``CloseConnection(1002)``, ``ConnectionClosed(1002)``, ``WebSocketDisconnect(1002)``).
Clients that report the end of a connection as a value (aiohttp's ``CLOSE`` message,
websocket-client's close frame, wsproto's EOF) raise it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import ssl as _ssl
from collections.abc import Iterator, Sequence
from typing import Any

import aiohttp
import httpx
import websocket
import websockets.asyncio.client
import websockets.sync.client
import wsproto.events
from httpx_ws import HTTPXWSException, WebSocketDisconnect, WebSocketSession, connect_ws
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from .failure import ClientFailure, failure
from .trio_client import TrioWebsocket
from .wsproto_client import Wsproto

__all__ = [
    "CLIENTS",
    "Aiohttp",
    "ClientFailure",
    "HttpxWs",
    "TrioWebsocket",
    "WebsocketClient",
    "WebsocketsAsyncio",
    "WebsocketsSync",
    "Wsproto",
]


def _subprotocols(subprotocols: Sequence[str]) -> list[Subprotocol] | None:
    return [Subprotocol(p) for p in subprotocols] or None


@contextlib.contextmanager
def _reports(home: str, native: tuple[type[BaseException], ...]) -> Iterator[None]:
    """Re-raise the client's own failures (``native``) as :class:`ClientFailure`."""
    try:
        yield
    except native as exc:
        raise failure(exc, home) from exc


# -- websockets -----------------------------------------------------------------------------

_WEBSOCKETS = (WebSocketException, OSError)


class _WebsocketsAsyncioSession:
    def __init__(self, ws: websockets.asyncio.client.ClientConnection) -> None:
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol

    async def send(self, message: str | bytes) -> None:
        with _reports("websockets", _WEBSOCKETS):
            await self.ws.send(message)

    async def receive(self, timeout: float) -> str | bytes:
        try:
            message = await asyncio.wait_for(self.ws.recv(), timeout)
        except TimeoutError:
            raise
        except _WEBSOCKETS as exc:
            raise failure(exc, "websockets") from exc
        return message

    async def close(self) -> None:
        with _reports("websockets", _WEBSOCKETS):
            await self.ws.close()


class WebsocketsAsyncio:
    """``websockets.asyncio.client.connect`` with open and close timeouts, no keepalive."""

    name = "websockets-asyncio"
    failures: tuple[type[BaseException], ...] = (ClientFailure,)

    async def connect(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None,
        ca_path: str | None,
        subprotocols: Sequence[str],
        timeout: float,
    ) -> _WebsocketsAsyncioSession:
        with _reports("websockets", _WEBSOCKETS):
            ws = await websockets.asyncio.client.connect(
                url,
                ssl=ssl,
                subprotocols=_subprotocols(subprotocols),
                open_timeout=timeout,
                close_timeout=timeout,
                ping_interval=None,
                proxy=None,
            )
        return _WebsocketsAsyncioSession(ws)


class _WebsocketsSyncSession:
    def __init__(self, ws: websockets.sync.client.ClientConnection) -> None:
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol

    def send(self, message: str | bytes) -> None:
        with _reports("websockets", _WEBSOCKETS):
            self.ws.send(message)

    def receive(self, timeout: float) -> str | bytes:
        try:
            return self.ws.recv(timeout=timeout)
        except TimeoutError:
            raise
        except _WEBSOCKETS as exc:
            raise failure(exc, "websockets") from exc

    def close(self) -> None:
        with _reports("websockets", _WEBSOCKETS):
            self.ws.close()


class WebsocketsSync:
    """``websockets.sync.client.connect`` with open and close timeouts."""

    name = "websockets-sync"
    failures: tuple[type[BaseException], ...] = (ClientFailure,)

    def connect(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None,
        ca_path: str | None,
        subprotocols: Sequence[str],
        timeout: float,
    ) -> _WebsocketsSyncSession:
        with _reports("websockets", _WEBSOCKETS):
            ws = websockets.sync.client.connect(
                url,
                ssl=ssl,
                subprotocols=_subprotocols(subprotocols),
                open_timeout=timeout,
                close_timeout=timeout,
                proxy=None,
            )
        return _WebsocketsSyncSession(ws.__enter__())  # as `with connect(...) as ws` does


# -- aiohttp --------------------------------------------------------------------------------

_AIOHTTP = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class _AiohttpSession:
    def __init__(
        self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse[Any]
    ) -> None:
        self.http = http
        self.ws = ws
        self.subprotocol: str | None = ws.protocol

    async def send(self, message: str | bytes) -> None:
        with _reports("aiohttp", _AIOHTTP):
            if isinstance(message, str):
                await self.ws.send_str(message)
            else:
                await self.ws.send_bytes(message)

    async def receive(self, timeout: float) -> str | bytes:
        while True:
            try:
                msg = await self.ws.receive(timeout=timeout)
            except (TimeoutError, asyncio.TimeoutError):
                raise TimeoutError from None
            except _AIOHTTP as exc:
                raise failure(exc, "aiohttp") from exc
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                data: str | bytes = msg.data
                return data
            if msg.type is aiohttp.WSMsgType.ERROR:
                # aiohttp returns the exception as the data of an ERROR message.
                raise failure(msg.data, "aiohttp")
            if msg.type not in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                code = self.ws.close_code
                raise ClientFailure(f"WSMsgType.{msg.type.name}", f"close code {code}")

    async def close(self) -> None:
        try:
            with _reports("aiohttp", _AIOHTTP):
                await self.ws.close()
        finally:
            await self.http.close()


class Aiohttp:
    """``aiohttp.ClientSession.ws_connect`` with receive and close timeouts, no heartbeat; a
    message that is not data ends the connection (``WSMsgType.CLOSE`` and the like)."""

    name = "aiohttp"
    failures: tuple[type[BaseException], ...] = (ClientFailure,)

    async def connect(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None,
        ca_path: str | None,
        subprotocols: Sequence[str],
        timeout: float,
    ) -> _AiohttpSession:
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
        try:
            with _reports("aiohttp", _AIOHTTP):
                ws = await http.ws_connect(
                    url,
                    ssl=ssl if ssl is not None else True,
                    protocols=tuple(subprotocols),
                    timeout=aiohttp.ClientWSTimeout(ws_receive=timeout, ws_close=timeout),
                )
        except BaseException:
            await http.close()
            raise
        return _AiohttpSession(http, ws)


# -- websocket-client -----------------------------------------------------------------------

_WEBSOCKET_CLIENT = (websocket.WebSocketException, OSError)


class _WebsocketClientSession:
    def __init__(self, ws: websocket.WebSocket, timeout: float) -> None:
        self.ws = ws
        self.timeout = timeout
        self.subprotocol: str | None = ws.getsubprotocol()

    def send(self, message: str | bytes) -> None:
        with _reports("websocket", _WEBSOCKET_CLIENT):
            if isinstance(message, str):
                self.ws.send(message)
            else:
                self.ws.send_binary(message)

    def receive(self, timeout: float) -> str | bytes:
        self.ws.settimeout(timeout)
        try:
            opcode, data = self.ws.recv_data()
        except (websocket.WebSocketTimeoutException, TimeoutError):
            raise TimeoutError from None
        except _WEBSOCKET_CLIENT as exc:
            raise failure(exc, "websocket") from exc
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            # recv_data answers a close frame and returns it: the end of the connection.
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            raise ClientFailure("close frame", f"close code {code}")
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return bytes(data).decode()
        return bytes(data)

    def close(self) -> None:
        try:
            with _reports("websocket", _WEBSOCKET_CLIENT):
                self.ws.close(timeout=self.timeout)
        finally:
            # After a close frame came in through recv, close() returns at once and leaves the
            # socket open (websocket-client 1.9): shutdown() closes it.
            self.ws.shutdown()  # type: ignore[no-untyped-call]


class WebsocketClient:
    """``websocket.create_connection`` with a socket timeout; ``close(timeout=...)``."""

    name = "websocket-client"
    failures: tuple[type[BaseException], ...] = (ClientFailure,)

    def connect(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None,
        ca_path: str | None,
        subprotocols: Sequence[str],
        timeout: float,
    ) -> _WebsocketClientSession:
        options: dict[str, Any] = {}
        if ssl is not None:
            options["sslopt"] = {"context": ssl}
        with _reports("websocket", _WEBSOCKET_CLIENT):
            ws = websocket.create_connection(
                url, timeout=timeout, subprotocols=list(subprotocols) or None, **options
            )
        return _WebsocketClientSession(ws, timeout)


# -- httpx-ws -------------------------------------------------------------------------------

_HTTPX_WS = (HTTPXWSException, httpx.HTTPError, OSError)


def _http_url(url: str) -> str:
    if url.startswith("wss://"):
        return "https://" + url.removeprefix("wss://")
    return "http://" + url.removeprefix("ws://")


class _HttpxWsSession:
    def __init__(self, stack: contextlib.ExitStack, ws: WebSocketSession) -> None:
        self.stack = stack
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self.parts: list[str | bytes] = []

    def send(self, message: str | bytes) -> None:
        with _reports("httpx_ws", _HTTPX_WS):
            if isinstance(message, str):
                self.ws.send_text(message)
            else:
                self.ws.send_bytes(message)

    def receive(self, timeout: float) -> str | bytes:
        while True:
            try:
                event: wsproto.events.Event = self.ws.receive(timeout=timeout)
            except queue.Empty:
                raise TimeoutError from None
            except WebSocketDisconnect as exc:
                raise ClientFailure(f"WebSocketDisconnect({exc.code})", str(exc)) from exc
            except _HTTPX_WS as exc:
                raise failure(exc, "httpx_ws") from exc
            if isinstance(event, wsproto.events.Message):
                self.parts.append(event.data)
                if event.message_finished:
                    parts, self.parts = self.parts, []
                    if isinstance(event, wsproto.events.TextMessage):
                        return "".join(p for p in parts if isinstance(p, str))
                    return b"".join(p for p in parts if isinstance(p, bytes))

    def close(self) -> None:
        with _reports("httpx_ws", _HTTPX_WS):
            self.stack.close()


class HttpxWs:
    """``httpx_ws.connect_ws`` on an ``httpx.Client(timeout=...)``, no keepalive pings;
    ``receive(timeout=...)`` raises ``WebSocketDisconnect`` on a close frame."""

    name = "httpx-ws"
    failures: tuple[type[BaseException], ...] = (ClientFailure,)

    def connect(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None,
        ca_path: str | None,
        subprotocols: Sequence[str],
        timeout: float,
    ) -> _HttpxWsSession:
        stack = contextlib.ExitStack()
        try:
            client = stack.enter_context(
                httpx.Client(
                    timeout=timeout, trust_env=False, verify=ssl if ssl is not None else True
                )
            )
            with _reports("httpx_ws", _HTTPX_WS):
                ws: WebSocketSession = stack.enter_context(
                    connect_ws(
                        _http_url(url),
                        client,
                        subprotocols=list(subprotocols) or None,
                        keepalive_ping_interval_seconds=None,
                    )
                )
        except BaseException:
            stack.close()
            raise
        return _HttpxWsSession(stack, ws)


#: The seven Python clients, in the tables' column order.
CLIENTS = (
    WebsocketsAsyncio(),
    WebsocketsSync(),
    Aiohttp(),
    WebsocketClient(),
    Wsproto(),
    HttpxWs(),
    TrioWebsocket(),
)
