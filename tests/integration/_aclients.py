"""The async clients of the integration scenarios, each behind the sync :class:`Conn`.

An async client runs on an event loop of its own (asyncio, or trio for trio-websocket) in an
anyio blocking portal, one per backend for the session: the scenario calls it like a sync
client, and every call is bounded by the client's own timeouts, as in ``_clients.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, ExitStack, asynccontextmanager, contextmanager
from typing import Any, Protocol, TypeVar

import aiohttp
import anyio
import httpx
import pytest
import trio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError

from ._clients import (
    MAX_SIZE,
    Conn,
    Options,
    ca_context,
    fragment_events,
    httpx_event_data,
    httpx_options,
    websockets_closed,
    websockets_options,
)
from ._support import TIMEOUT

T = TypeVar("T")


class AsyncConn(Protocol):
    """:class:`Conn` with ``async def``."""

    subprotocol: str | None
    extensions: list[str]

    async def send(self, data: str | bytes) -> None: ...
    async def receive(self) -> str | bytes: ...
    async def send_fragments(self, chunks: Sequence[str | bytes]) -> None: ...
    async def ping(self, payload: bytes) -> None: ...
    async def answer_ping(self) -> bytes: ...
    async def close(self, code: int, reason: str) -> int | None: ...
    async def server_close(self) -> tuple[int, str]: ...


class _Blocking:
    """An :class:`AsyncConn` called from the test's thread through the portal."""

    def __init__(self, portal: BlockingPortal, conn: AsyncConn) -> None:
        self.portal = portal
        self.conn = conn
        self.subprotocol = conn.subprotocol
        self.extensions = conn.extensions

    def _call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return self.portal.call(fn, *args)

    def send(self, data: str | bytes) -> None:
        self._call(self.conn.send, data)

    def receive(self) -> str | bytes:
        return self._call(self.conn.receive)

    def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        self._call(self.conn.send_fragments, chunks)

    def ping(self, payload: bytes) -> None:
        self._call(self.conn.ping, payload)

    def answer_ping(self) -> bytes:
        return self._call(self.conn.answer_ping)

    def close(self, code: int, reason: str) -> int | None:
        return self._call(self.conn.close, code, reason)

    def server_close(self) -> tuple[int, str]:
        return self._call(self.conn.server_close)


#: One portal per backend for the whole session (``stop_portals`` ends them): the loop goes on
#: after a connection's context exits, so what the client closes in the background (aiohttp's
#: TLS shutdown) ends there instead of leaking when a loop per connection stops at once.
_PORTALS: dict[str, tuple[ExitStack, BlockingPortal]] = {}


def portal_for(backend: str) -> BlockingPortal:
    """The session's portal running ``backend`` (started on first use)."""
    if backend not in _PORTALS:
        stack = ExitStack()
        _PORTALS[backend] = (stack, stack.enter_context(start_blocking_portal(backend)))
    return _PORTALS[backend][1]


def stop_portals() -> None:
    """Stop the portals' event loops (at the end of the session)."""
    while _PORTALS:
        _, (stack, _) = _PORTALS.popitem()
        stack.close()


class _AsyncClient:
    """A client whose ``aopen`` is an async context manager, run in a blocking portal."""

    backend = "asyncio"

    def aopen(self, url: str, options: Options) -> AbstractAsyncContextManager[AsyncConn]:
        raise NotImplementedError

    @contextmanager
    def open(self, url: str, options: Options) -> Iterator[Conn]:
        portal = portal_for(self.backend)
        with portal.wrap_async_context_manager(self.aopen(url, options)) as conn:
            yield _Blocking(portal, conn)


# -- websockets (asyncio) -------------------------------------------------------------------


class _WebsocketsConn:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self.extensions: list[str] = [e.name for e in ws.protocol.extensions]

    async def send(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def receive(self) -> str | bytes:
        return await asyncio.wait_for(self.ws.recv(), TIMEOUT)

    async def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        await self.ws.send(chunks)

    async def ping(self, payload: bytes) -> None:
        pong_waiter = await self.ws.ping(payload)
        latency = await asyncio.wait_for(pong_waiter, TIMEOUT)
        assert latency >= 0

    async def answer_ping(self) -> bytes:
        raise AssertionError("websockets answers pings by itself")

    async def close(self, code: int, reason: str) -> int | None:
        await self.ws.close(code, reason)
        return self.ws.close_code

    async def server_close(self) -> tuple[int, str]:
        with pytest.raises(ConnectionClosedError) as excinfo:
            await asyncio.wait_for(self.ws.recv(), TIMEOUT)
        return websockets_closed(excinfo.value, self.ws.close_code, self.ws.close_reason)


class WebsocketsAsyncio(_AsyncClient):
    """websockets' asyncio client (``websockets.asyncio.client.connect``)."""

    @asynccontextmanager
    async def aopen(self, url: str, options: Options) -> AsyncIterator[AsyncConn]:
        async with connect(url, **websockets_options(options)) as ws:
            yield _WebsocketsConn(ws)


# -- aiohttp --------------------------------------------------------------------------------


class _AiohttpConn:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        self.ws = ws
        self.subprotocol = ws.protocol
        # aiohttp says what it negotiated as the window bits it compresses with (0: none).
        self.extensions = ["permessage-deflate"] if ws.compress == 15 else []
        assert ws.compress in (0, 15), ws.compress

    async def send(self, data: str | bytes) -> None:
        if isinstance(data, str):
            await self.ws.send_str(data)
        else:
            await self.ws.send_bytes(data)

    async def receive(self) -> str | bytes:
        message = await self.ws.receive(timeout=TIMEOUT)
        assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), message
        data: str | bytes = message.data
        return data

    async def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        raise AssertionError("aiohttp cannot fragment a message")

    async def ping(self, payload: bytes) -> None:
        """With ``autoping=False`` aiohttp hands the server's pong to the caller."""
        await self.ws.ping(payload)
        message = await self.ws.receive(timeout=TIMEOUT)
        assert message.type is aiohttp.WSMsgType.PONG
        assert message.data == payload

    async def answer_ping(self) -> bytes:
        raise AssertionError("aiohttp answers pings by itself")

    async def close(self, code: int, reason: str) -> int | None:
        assert await self.ws.close(code=code, message=reason.encode())
        assert self.ws.closed
        return self.ws.close_code

    async def server_close(self) -> tuple[int, str]:
        message = await self.ws.receive(timeout=TIMEOUT)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert self.ws.closed
        assert self.ws.close_code == message.data
        assert isinstance(message.extra, str), message
        return message.data, message.extra


class Aiohttp(_AsyncClient):
    """aiohttp's ``ClientSession.ws_connect``, every timeout bounded; deflate is
    ``compress=15``."""

    @asynccontextmanager
    async def aopen(self, url: str, options: Options) -> AsyncIterator[AsyncConn]:
        kwargs: dict[str, Any] = {
            "timeout": aiohttp.ClientWSTimeout(ws_receive=TIMEOUT, ws_close=TIMEOUT),
            "max_msg_size": MAX_SIZE,
            "protocols": tuple(options.subprotocols),
            "compress": 15 if options.deflate else 0,
            "autoping": options.autoping,
            "headers": dict(options.headers),
            "origin": options.origin,
        }
        context = ca_context(options)
        if context is not None:
            kwargs["ssl"] = context
        timeout = aiohttp.ClientTimeout(total=None, connect=TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.ws_connect(url, **kwargs) as ws,
        ):
            yield _AiohttpConn(ws)


# -- httpx-ws (async) -----------------------------------------------------------------------


class _HttpxWsConn:
    def __init__(self, ws: AsyncWebSocketSession) -> None:
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self.extensions: list[str] = []

    async def send(self, data: str | bytes) -> None:
        if isinstance(data, str):
            await self.ws.send_text(data)
        else:
            await self.ws.send_bytes(data)

    async def receive(self) -> str | bytes:
        return httpx_event_data(await self.ws.receive(timeout=TIMEOUT))

    async def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        for event in fragment_events(chunks):
            await self.ws.send(event)

    async def ping(self, payload: bytes) -> None:
        pong = await self.ws.ping(payload)
        with anyio.fail_after(TIMEOUT):
            await pong.wait()

    async def answer_ping(self) -> bytes:
        raise AssertionError("httpx-ws answers pings by itself")

    async def close(self, code: int, reason: str) -> int | None:
        await self.ws.close(code, reason)
        return None

    async def server_close(self) -> tuple[int, str]:
        with pytest.raises(WebSocketDisconnect) as excinfo:
            await self.ws.receive(timeout=TIMEOUT)
        return excinfo.value.code, excinfo.value.reason


class HttpxWsAsync(_AsyncClient):
    """httpx-ws's ``aconnect_ws`` on an ``httpx.AsyncClient``."""

    @asynccontextmanager
    async def aopen(self, url: str, options: Options) -> AsyncIterator[AsyncConn]:
        client_options, session_options = httpx_options(options)
        async with (
            httpx.AsyncClient(**client_options) as client,
            aconnect_ws(url, client, **session_options) as ws,
        ):
            yield _HttpxWsConn(ws)


# -- trio-websocket -------------------------------------------------------------------------


class _TrioConn:
    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self.extensions: list[str] = []

    async def send(self, data: str | bytes) -> None:
        await self.ws.send_message(data)

    async def receive(self) -> str | bytes:
        with trio.fail_after(TIMEOUT):
            message: str | bytes = await self.ws.get_message()
            return message

    async def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        raise AssertionError("trio-websocket cannot fragment a message")

    async def ping(self, payload: bytes) -> None:
        """``ping()`` returns once the pong with the same payload arrived."""
        with trio.fail_after(TIMEOUT):
            await self.ws.ping(payload)

    async def answer_ping(self) -> bytes:
        raise AssertionError("trio-websocket answers pings by itself")

    async def close(self, code: int, reason: str) -> int | None:
        await self.ws.aclose(code, reason)
        assert self.ws.closed is not None
        code_seen: int = self.ws.closed.code
        return code_seen

    async def server_close(self) -> tuple[int, str]:
        with pytest.raises(ConnectionClosed) as excinfo:
            await self.receive()
        # trio-websocket 0.12.2 never closes its socket after a closing handshake that the
        # server started (its reader stops at the server's FIN without closing the stream):
        # the server would wait close_timeout for the client's FIN, and the socket would leak
        # (ResourceWarning). Close it the way the library should.
        await self.ws._close_stream()
        reason = excinfo.value.reason
        assert reason is not None
        assert reason.reason is not None
        return reason.code, reason.reason


class TrioWebsocket(_AsyncClient):
    """trio-websocket's ``open_websocket_url``, on trio; connect and disconnect bounded."""

    backend = "trio"

    @asynccontextmanager
    async def aopen(self, url: str, options: Options) -> AsyncIterator[AsyncConn]:
        assert not options.deflate, "trio-websocket offers no permessage-deflate"
        headers = [(k.encode(), v.encode()) for k, v in options.headers.items()]
        if options.origin is not None:
            headers.insert(0, (b"Origin", options.origin.encode()))
        kwargs: dict[str, Any] = {
            "connect_timeout": TIMEOUT,
            "disconnect_timeout": TIMEOUT,
            "max_message_size": MAX_SIZE,
            "subprotocols": list(options.subprotocols) or None,
            "extra_headers": headers,
        }
        context = ca_context(options)
        if context is not None:
            kwargs["ssl_context"] = context
        with trio.fail_after(4 * TIMEOUT):
            async with open_websocket_url(url, **kwargs) as ws:
                yield _TrioConn(ws)
