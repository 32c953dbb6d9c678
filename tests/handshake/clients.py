"""One ``attempt`` function per real client: try to open a WebSocket connection, say what happened.

Every function has the same shape, ``attempt(url, *, subprotocols, timeout) -> Outcome``: it
offers ``subprotocols`` (none when ``None``), opens the connection with the client's own open
timeout set to ``timeout``, and returns either :data:`OPENED` (after closing the connection
cleanly) or ``refused(<exception name>, <HTTP status when the client exposes it>)``.

Nothing here may hang a test. Each client gets its own timeout argument, and because some
clients ignore theirs in some cases (see CLIENTS.md: one blocks forever on a silent server,
another reports a FIN only after 60 s), every attempt also runs under a bound we enforce: an
outer ``anyio.move_on_after`` / ``trio.move_on_after`` for the async clients (a client stopped
by it counts as :data:`HUNG`: trio-websocket on a server that never answers), a deadline on
every socket read for wsproto, and for all of them a worker thread joined with a timeout
(:func:`bounded`), which turns a client that still hangs into a :class:`ClientHung` failure.
The blocking clients (websockets sync, websocket-client, httpx) bound their socket reads by
their own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import aiohttp
import anyio
import httpx
import trio
import websocket
import websockets.asyncio.client
import websockets.sync.client
from httpx_ws import connect_ws
from trio_websocket import open_websocket_url
from websockets.typing import Subprotocol
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, RejectConnection, Request
from wsproto.utilities import RemoteProtocolError

from .._bounded import bounded, exception_name

#: Seconds an async client may spend, on top of its own open and close timeouts, before its
#: event loop cancels it and the attempt counts as :data:`HUNG`.
BOUND_MARGIN = 1.0

#: Seconds on top of that before the worker thread of an attempt counts as stuck for good
#: (:class:`ClientHung`, a test failure).
HARD_BOUND_MARGIN = 3.0


@dataclass(frozen=True)
class Outcome:
    """What a client did with one opening handshake.

    Attributes:
        error: the name of the exception the client raised (qualified by its top-level package
            when it is not the client's own or a builtin), or ``None`` when it opened the
            connection.
        status: the HTTP status the client reported with the error, when it exposes one.
    """

    error: str | None = None
    status: int | None = None
    hung: bool = False

    @property
    def opened(self) -> bool:
        """Whether the client opened the connection (it accepted the handshake)."""
        return self.error is None and not self.hung

    def __str__(self) -> str:
        if self.hung:
            return "hung (it ignored its own timeout; the test's bound stopped it)"
        if self.error is None:
            return "opened the connection"
        status = "" if self.status is None else f" (status {self.status})"
        return f"refused with {self.error}{status}"


#: The client accepted the handshake and opened the connection.
OPENED = Outcome()

#: The client neither opened nor refused within its own timeout plus :data:`BOUND_MARGIN`:
#: the adapter's outer bound (``anyio.move_on_after`` / ``trio.move_on_after``) stopped it.
HUNG = Outcome(hung=True)


def refused(error: str, status: int | None = None) -> Outcome:
    """The client refused to open the connection, raising ``error`` (and reporting ``status``)."""
    return Outcome(error, status)


#: What expected.py pins for one client and entry: one outcome, or the outcomes a client picks
#: from by timing alone (e.g. whether its reader thread sees the server's FIN before its
#: request is sent).
Pinned: TypeAlias = "Outcome | frozenset[Outcome]"


def either(*outcomes: Outcome) -> frozenset[Outcome]:
    """Any one of these outcomes, depending on timing inside the client."""
    return frozenset(outcomes)


def variants(pinned: Pinned) -> list[Outcome]:
    """The outcomes ``pinned`` allows, in a stable order."""
    if isinstance(pinned, Outcome):
        return [pinned]
    return sorted(pinned, key=str)


def describe(pinned: Pinned) -> str:
    """``refused with InvalidMessage or refused with ConnectionClosedError``."""
    return " or ".join(str(outcome) for outcome in variants(pinned))


class Attempt(Protocol):
    """The signature every client adapter has."""

    def __call__(self, url: str, *, subprotocols: list[str] | None, timeout: float) -> Outcome:
        """Try to open ``url``; see the module docstring."""
        ...


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, in any of the clients' spellings."""
    for owner in (exc, getattr(exc, "response", None)):
        for attribute in ("status_code", "status"):
            value = getattr(owner, attribute, None)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def _refused_by(exc: BaseException, home: str) -> Outcome:
    return refused(exception_name(exc, home), _status_of(exc))


def _bound(timeout: float) -> float:
    # The open timeout, then the close timeout, then the margin.
    return 2 * timeout + BOUND_MARGIN


def _hard_limit(timeout: float) -> float:
    return _bound(timeout) + HARD_BOUND_MARGIN


def _client(name: str) -> Callable[[Attempt], Attempt]:
    """Run the decorated adapter under :func:`bounded`."""

    def decorate(adapter: Attempt) -> Attempt:
        @functools.wraps(adapter)
        def attempt(url: str, *, subprotocols: list[str] | None, timeout: float) -> Outcome:
            return bounded(
                name,
                lambda: adapter(url, subprotocols=subprotocols, timeout=timeout),
                _hard_limit(timeout),
                doing="trying to open (or close) the connection",
            )

        return attempt

    return decorate


# -- websockets -----------------------------------------------------------------------------


def _ws_subprotocols(subprotocols: list[str] | None) -> list[Subprotocol] | None:
    return None if subprotocols is None else [Subprotocol(p) for p in subprotocols]


@_client("websockets-asyncio")
def websockets_asyncio(url: str, *, subprotocols: list[str] | None, timeout: float) -> Outcome:
    """``websockets.asyncio.client.connect`` with ``open_timeout``, under ``asyncio.run``."""

    async def main() -> Outcome:
        with anyio.move_on_after(_bound(timeout)):
            try:
                ws = await websockets.asyncio.client.connect(
                    url,
                    subprotocols=_ws_subprotocols(subprotocols),
                    open_timeout=timeout,
                    close_timeout=timeout,
                    proxy=None,
                )
            except Exception as exc:
                return _refused_by(exc, "websockets")
            await ws.close()
            return OPENED
        return HUNG

    return asyncio.run(main())


@_client("websockets-sync")
def websockets_sync(url: str, *, subprotocols: list[str] | None, timeout: float) -> Outcome:
    """``websockets.sync.client.connect`` with ``open_timeout`` (used in a ``with`` block)."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(
                websockets.sync.client.connect(
                    url,
                    subprotocols=_ws_subprotocols(subprotocols),
                    open_timeout=timeout,
                    close_timeout=timeout,
                    proxy=None,
                )
            )
        except Exception as exc:
            return _refused_by(exc, "websockets")
    return OPENED


# -- aiohttp --------------------------------------------------------------------------------


@_client("aiohttp")
def aiohttp_client(url: str, *, subprotocols: list[str] | None, timeout: float) -> Outcome:
    """``aiohttp.ClientSession.ws_connect`` with a total timeout, under ``asyncio.run``."""

    async def main() -> Outcome:
        with anyio.move_on_after(_bound(timeout)):
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout)
            ) as session:
                try:
                    ws = await session.ws_connect(
                        url,
                        protocols=subprotocols or (),
                        timeout=aiohttp.ClientWSTimeout(ws_receive=timeout, ws_close=timeout),
                    )
                except Exception as exc:
                    return _refused_by(exc, "aiohttp")
                await ws.close()
                return OPENED
        return HUNG

    return asyncio.run(main())


# -- websocket-client -----------------------------------------------------------------------


@_client("websocket-client")
def websocket_client(url: str, *, subprotocols: list[str] | None, timeout: float) -> Outcome:
    """``websocket.create_connection`` with ``timeout`` (a socket timeout)."""
    try:
        ws = websocket.create_connection(url, timeout=timeout, subprotocols=subprotocols)
    except Exception as exc:
        return _refused_by(exc, "websocket")
    ws.close(timeout=timeout)
    return OPENED


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
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port, target


@_client("wsproto")
def wsproto_client(url: str, *, subprotocols: list[str] | None, timeout: float) -> Outcome:
    """``wsproto.WSConnection(CLIENT)`` over a blocking socket with a deadline on every read.

    A ``RejectConnection`` event is a refusal with its status; ``RemoteProtocolError`` (and
    any socket error, timeouts included) a refusal without one. EOF before any event is fed
    to wsproto as ``None``, as its documentation says.
    """
    host, port, target = _split(url)
    ws = WSConnection(ConnectionType.CLIENT)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        reader = _Deadline(sock, timeout)
        try:
            sock.sendall(
                ws.send(
                    Request(host=f"{host}:{port}", target=target, subprotocols=subprotocols or [])
                )
            )
            accepted = False
            while not accepted:
                data = reader.recv()
                ws.receive_data(data or None)
                for event in ws.events():
                    if isinstance(event, RejectConnection):
                        return refused("RejectConnection", event.status_code)
                    if isinstance(event, AcceptConnection):
                        accepted = True
                        break
                if not data and not accepted:
                    # wsproto said nothing about the EOF: report it as the socket would.
                    return refused("EOF")
        except (RemoteProtocolError, OSError) as exc:
            return _refused_by(exc, "wsproto")
        # Opened: close cleanly (our close frame, the server's, then the server's FIN).
        closer = _Deadline(sock, timeout)
        sock.sendall(ws.send(CloseConnection(code=1000)))
        while True:
            data = closer.recv()
            ws.receive_data(data or None)
            if not data:
                break
            for event in ws.events():
                assert not isinstance(event, CloseConnection) or event.code == 1000, event
    return OPENED


# -- httpx-ws -------------------------------------------------------------------------------


def _http_url(url: str) -> str:
    if url.startswith("wss://"):
        return "https://" + url.removeprefix("wss://")
    return "http://" + url.removeprefix("ws://")


@_client("httpx-ws")
def httpx_ws(url: str, *, subprotocols: list[str] | None, timeout: float) -> Outcome:
    """``httpx_ws.connect_ws`` with an ``httpx.Client(timeout=...)``."""
    with httpx.Client(timeout=timeout, trust_env=False) as client, contextlib.ExitStack() as stack:
        try:
            stack.enter_context(
                connect_ws(
                    _http_url(url),
                    client,
                    subprotocols=subprotocols,
                    keepalive_ping_interval_seconds=None,
                )
            )
        except Exception as exc:
            return _refused_by(exc, "httpx_ws")
    return OPENED


# -- trio-websocket -------------------------------------------------------------------------


#: trio-websocket 0.12 never closes its socket when the opening handshake fails (measured: a
#: ``ResourceWarning: unclosed <socket.socket ...>`` once the socket is collected). The matrix
#: ignores that warning for trio-websocket only; the docs table says so.
TRIO_WEBSOCKET_LEAK = "ignore:unclosed <socket.socket:ResourceWarning"


@_client("trio-websocket")
def trio_websocket(url: str, *, subprotocols: list[str] | None, timeout: float) -> Outcome:
    """``trio_websocket.open_websocket_url`` with ``connect_timeout``, under ``trio.run``.

    Garbage is collected afterwards so that the socket trio-websocket leaks on a failed
    handshake is collected now, in this attempt (see :data:`TRIO_WEBSOCKET_LEAK`), and not
    in some later test.
    """

    async def main() -> Outcome:
        with trio.move_on_after(_bound(timeout)):
            async with contextlib.AsyncExitStack() as stack:
                try:
                    await stack.enter_async_context(
                        open_websocket_url(
                            url,
                            subprotocols=subprotocols,
                            connect_timeout=timeout,
                            disconnect_timeout=timeout,
                        )
                    )
                except Exception as exc:
                    return _refused_by(exc, "trio_websocket")
            return OPENED
        return HUNG

    try:
        return trio.run(main)
    finally:
        gc.collect()


#: Every client, by the name used in test ids, expected.py and the docs table (in this order).
CLIENTS: dict[str, Attempt] = {
    "websockets-asyncio": websockets_asyncio,
    "websockets-sync": websockets_sync,
    "aiohttp": aiohttp_client,
    "websocket-client": websocket_client,
    "wsproto": wsproto_client,
    "httpx-ws": httpx_ws,
    "trio-websocket": trio_websocket,
}
