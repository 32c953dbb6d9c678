"""One ``receive_all`` function per real client: connect, receive until the connection ends.

Every function has the same shape, ``receive_all(url, *, timeout) -> Observed``: it opens a
connection to ``url`` the way the client's documentation shows (a context manager where the
client has one), receives messages until the client raises or reports the end of the
connection, and returns the messages it delivered and what ended the loop. Every receive
call gets ``timeout``; a client that waits that long counts as having waited (its ``ended``
is the timeout's exception name).

Nothing here may hang a test. Each client gets its own timeouts, every async client also
runs under an outer ``anyio.move_on_after`` / ``trio.move_on_after``, wsproto reads with a
deadline on every ``recv``, and every call runs in a worker thread joined with a timeout
(:func:`bounded`), which turns a client that still hangs into a :class:`ClientHung` failure.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import aiohttp
import anyio
import httpx
import trio
import websocket
import websockets.asyncio.client
import websockets.sync.client
import wsproto.events
from httpx_ws import WebSocketDisconnect, WebSocketSession, connect_ws
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState

from .._bounded import bounded, exception_name

#: Messages a receive loop takes at most (the server sends three at most; this stops a client
#: that would deliver the same thing forever).
MAX_MESSAGES = 10

#: Seconds on top of a client's own timeouts before its event loop cancels it.
BOUND_MARGIN = 1.0

#: Seconds on top of that before the worker thread counts as stuck for good (ClientHung).
HARD_BOUND_MARGIN = 3.0


@dataclass(frozen=True)
class Observed:
    """What a client did on one connection, seen from the client's side.

    Attributes:
        delivered: the messages the client handed to the application, in order (``str`` for
            text, ``bytes`` for binary).
        ended: what ended the receive loop: the name of the exception the client raised
            (qualified by its package when it is not the client's own or a builtin), or, for
            clients that report the end as a value, that value (``WSMsgType.CLOSE`` for
            aiohttp's message, ``close frame`` for websocket-client's ``""``). The clients
            whose report carries a close code that is not on the wire get it in parentheses:
            wsproto's ``CloseConnection(1002)`` event, httpx-ws' ``WebSocketDisconnect(1002)``,
            trio-websocket's ``ConnectionClosed(1002)``. ``None`` when the loop stopped at
            :data:`MAX_MESSAGES`.
        hung: the client was still receiving when the outer bound ran out.
    """

    delivered: tuple[str | bytes, ...]
    ended: str | None
    hung: bool = False
    #: Closes what the client left open (trio-websocket's socket); call it once the server has
    #: recorded how the connection ended.
    release: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)


class ReceiveAll(Protocol):
    """The signature every client adapter has."""

    def __call__(self, url: str, *, timeout: float) -> Observed:
        """Connect to ``url`` and receive until the end; see the module docstring."""
        ...


def _bound(timeout: float) -> float:
    # Open, a few receives, close: the server ends every connection well within this.
    return 4 * timeout + BOUND_MARGIN


def _client(name: str) -> Callable[[ReceiveAll], ReceiveAll]:
    """Run the decorated adapter under :func:`bounded`."""

    def decorate(adapter: ReceiveAll) -> ReceiveAll:
        @functools.wraps(adapter)
        def receive_all(url: str, *, timeout: float) -> Observed:
            return bounded(
                name,
                lambda: adapter(url, timeout=timeout),
                _bound(timeout) + HARD_BOUND_MARGIN,
                doing="receiving (or closing)",
            )

        return receive_all

    return decorate


# -- websockets -----------------------------------------------------------------------------


@_client("websockets-asyncio")
def websockets_asyncio(url: str, *, timeout: float) -> Observed:
    """``async with websockets.asyncio.client.connect(...)``, ``recv()`` under ``wait_for``."""

    async def main() -> Observed:
        delivered: list[str | bytes] = []
        with anyio.move_on_after(_bound(timeout)):
            try:
                async with websockets.asyncio.client.connect(
                    url, open_timeout=timeout, close_timeout=timeout, proxy=None
                ) as ws:
                    while len(delivered) < MAX_MESSAGES:
                        delivered.append(await asyncio.wait_for(ws.recv(), timeout))
            except Exception as exc:
                return Observed(tuple(delivered), exception_name(exc, "websockets"))
            return Observed(tuple(delivered), None)
        return Observed(tuple(delivered), None, hung=True)

    return asyncio.run(main())


@_client("websockets-sync")
def websockets_sync(url: str, *, timeout: float) -> Observed:
    """``with websockets.sync.client.connect(...)``, ``recv(timeout=...)``."""
    delivered: list[str | bytes] = []
    try:
        with websockets.sync.client.connect(
            url, open_timeout=timeout, close_timeout=timeout, proxy=None
        ) as ws:
            while len(delivered) < MAX_MESSAGES:
                delivered.append(ws.recv(timeout=timeout))
    except Exception as exc:
        return Observed(tuple(delivered), exception_name(exc, "websockets"))
    return Observed(tuple(delivered), None)


# -- aiohttp --------------------------------------------------------------------------------


@_client("aiohttp")
def aiohttp_client(url: str, *, timeout: float) -> Observed:
    """``async with session.ws_connect(...)``, ``receive(timeout=...)`` until a message that is
    not data (an ``ERROR`` message counts as the exception it carries)."""

    async def main() -> Observed:
        delivered: list[str | bytes] = []
        with anyio.move_on_after(_bound(timeout)):
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.ws_connect(
                        url,
                        timeout=aiohttp.ClientWSTimeout(ws_receive=timeout, ws_close=timeout),
                    ) as ws,
                ):
                    while len(delivered) < MAX_MESSAGES:
                        msg = await ws.receive(timeout=timeout)
                        if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                            delivered.append(msg.data)
                        elif msg.type is aiohttp.WSMsgType.ERROR:
                            return Observed(tuple(delivered), exception_name(msg.data, "aiohttp"))
                        elif msg.type not in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                            return Observed(tuple(delivered), f"WSMsgType.{msg.type.name}")
            except Exception as exc:
                return Observed(tuple(delivered), exception_name(exc, "aiohttp"))
            return Observed(tuple(delivered), None)
        return Observed(tuple(delivered), None, hung=True)

    return asyncio.run(main())


# -- websocket-client -----------------------------------------------------------------------


@_client("websocket-client")
def websocket_client(url: str, *, timeout: float) -> Observed:
    """``websocket.create_connection(url, timeout=...)``, ``recv()``, ``close()`` in ``finally``.

    ``recv()`` returns ``""`` for a close frame (after answering it): that ends the loop as
    ``close frame``.
    """
    delivered: list[str | bytes] = []
    ws = websocket.create_connection(url, timeout=timeout)
    try:
        while len(delivered) < MAX_MESSAGES:
            data = ws.recv()
            if data == "" and not ws.connected:
                return Observed(tuple(delivered), "close frame")
            delivered.append(data)
    except Exception as exc:
        return Observed(tuple(delivered), exception_name(exc, "websocket"))
    finally:
        ws.close(timeout=timeout)
    return Observed(tuple(delivered), None)


# -- wsproto --------------------------------------------------------------------------------


class _Deadline:
    """A blocking socket whose reads all end by one deadline."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.deadline = time.monotonic() + timeout

    def recv(self) -> bytes:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(left)
        return self.sock.recv(65536)


def _split(url: str) -> tuple[str, int, str]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port, (parts.path or "/")


@_client("wsproto")
def wsproto_client(url: str, *, timeout: float) -> Observed:
    """``wsproto.WSConnection(CLIENT)`` over a blocking socket, as wsproto's own example drives
    it: answer pings, answer a ``CloseConnection`` event with ``event.response()``, read until
    EOF. A ``CloseConnection`` event ends the loop as ``CloseConnection``, EOF without one as
    ``EOF``."""
    host, port, target = _split(url)
    ws = WSConnection(ConnectionType.CLIENT)
    delivered: list[str | bytes] = []
    ended: str | None = None
    with socket.create_connection((host, port), timeout=timeout) as sock:
        reader = _Deadline(sock, _bound(timeout))
        try:
            sock.sendall(ws.send(wsproto.events.Request(host=f"{host}:{port}", target=target)))
            parts: list[str | bytes] = []
            while True:
                data = reader.recv()
                ws.receive_data(data or None)
                for event in ws.events():
                    if isinstance(event, wsproto.events.Message):
                        parts.append(event.data)
                        if event.message_finished and len(delivered) < MAX_MESSAGES:
                            text = isinstance(event, wsproto.events.TextMessage)
                            delivered.append(
                                "".join(p for p in parts if isinstance(p, str))
                                if text
                                else b"".join(p for p in parts if isinstance(p, bytes))
                            )
                            parts = []
                    elif isinstance(event, wsproto.events.Ping):
                        sock.sendall(ws.send(event.response()))
                    elif isinstance(event, wsproto.events.CloseConnection):
                        ended = ended or f"CloseConnection({event.code})"
                        # REMOTE_CLOSING: the server's close frame; OPEN: wsproto failed a
                        # frame and asks the application to close with the event's code.
                        if ws.state in (ConnectionState.REMOTE_CLOSING, ConnectionState.OPEN):
                            sock.sendall(ws.send(event.response()))
                if not data:
                    return Observed(tuple(delivered), ended or "EOF")
        except Exception as exc:
            return Observed(tuple(delivered), ended or exception_name(exc, "wsproto"))


# -- httpx-ws -------------------------------------------------------------------------------


@_client("httpx-ws")
def httpx_ws(url: str, *, timeout: float) -> Observed:
    """``with connect_ws(...)`` on an ``httpx.Client(timeout=...)``, ``receive(timeout=...)``
    (which raises ``WebSocketDisconnect`` on a close frame; ``queue.Empty`` on a timeout)."""
    delivered: list[str | bytes] = []
    http_url = "http://" + url.removeprefix("ws://")
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        try:
            ws: WebSocketSession
            with connect_ws(http_url, client, keepalive_ping_interval_seconds=None) as ws:
                parts: list[str | bytes] = []
                while len(delivered) < MAX_MESSAGES:
                    event: wsproto.events.Event = ws.receive(timeout=timeout)
                    if isinstance(event, wsproto.events.Message):
                        parts.append(event.data)
                        if event.message_finished:
                            text = isinstance(event, wsproto.events.TextMessage)
                            delivered.append(
                                "".join(p for p in parts if isinstance(p, str))
                                if text
                                else b"".join(p for p in parts if isinstance(p, bytes))
                            )
                            parts = []
        except queue.Empty:
            return Observed(tuple(delivered), "queue.Empty")
        except WebSocketDisconnect as exc:
            return Observed(tuple(delivered), f"WebSocketDisconnect({exc.code})")
        except Exception as exc:
            return Observed(tuple(delivered), exception_name(exc, "httpx_ws"))
    return Observed(tuple(delivered), None)


# -- trio-websocket -------------------------------------------------------------------------


@_client("trio-websocket")
def trio_websocket(url: str, *, timeout: float) -> Observed:
    """``async with open_websocket_url(...)``, ``get_message()`` under ``trio.fail_after``,
    under ``trio.run``.

    After a protocol error trio-websocket 0.12 neither sends a close frame nor closes its
    socket: TCP stays open until the socket object is freed (at once, or only when the
    garbage collector runs, depending on reference cycles). So that the result does not
    depend on the collector, this adapter holds the connection object and closes its socket
    in ``release``, which the caller runs once the server has recorded how the connection
    ended (as an application that keeps its connection object would see it).
    """
    held: list[WebSocketConnection] = []

    async def main() -> Observed:
        delivered: list[str | bytes] = []
        with trio.move_on_after(_bound(timeout)):
            try:
                async with open_websocket_url(
                    url, connect_timeout=timeout, disconnect_timeout=timeout
                ) as ws:
                    held.append(ws)
                    while len(delivered) < MAX_MESSAGES:
                        with trio.fail_after(timeout):
                            delivered.append(await ws.get_message())
            except ConnectionClosed as exc:
                code = None if exc.reason is None else exc.reason.code
                return Observed(tuple(delivered), f"ConnectionClosed({code})")
            except Exception as exc:
                return Observed(tuple(delivered), exception_name(exc, "trio_websocket"))
            return Observed(tuple(delivered), None)
        return Observed(tuple(delivered), None, hung=True)

    def release() -> None:
        for ws in held:
            # What trio-websocket leaves open: the stdlib socket inside trio's (trio's own
            # close() needs a running trio loop; the stdlib one's close() is idempotent).
            stream: Any = ws._stream
            stream.socket._sock.close()

    return replace(trio.run(main), release=release)


#: Every client, by the name used in test ids, expected.py and the docs table (in this order).
CLIENTS: dict[str, ReceiveAll] = {
    "websockets-asyncio": websockets_asyncio,
    "websockets-sync": websockets_sync,
    "aiohttp": aiohttp_client,
    "websocket-client": websocket_client,
    "wsproto": wsproto_client,
    "httpx-ws": httpx_ws,
    "trio-websocket": trio_websocket,
}
