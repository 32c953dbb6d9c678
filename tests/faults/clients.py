"""One ``react`` function per real client: meet a transport fault, say what the client did.

Every adapter has the same shape, ``react(url, plan) -> Reaction``. It opens the connection,
receives the messages the :class:`Plan` says the server sends (each receive bounded by
:data:`TIMEOUT`) and then does the plan's ``action``:

- ``"read"``: read once more, as a client waiting for the next message does, and report how
  that read ended (the exception, or the close the client saw, and the close code the client
  reports);
- ``"close"``: start the closing handshake itself (code 1000) with its close timeout set to
  :data:`CLOSE_TIMEOUT`, and report how that went.

The client-side effect is the :class:`Reaction`; the messages the client received are returned
beside it so the tests can assert they arrived intact. Nothing here may hang a test: every
client call has the client's own timeout, the async clients run under an outer
``anyio.move_on_after``/``trio.move_on_after``, and every attempt runs in a worker thread
joined with a timeout (:func:`bounded`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

import aiohttp
import anyio
import websocket
import websockets.asyncio.client
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from .._bounded import ClientHung, bounded, exception_name

#: Seconds each receive (and the opening handshake) may take.
TIMEOUT = 2.0

#: Seconds the read after the fault may take (a client still waiting then raises, or the
#: test's bound stops it with ``TimeoutError``).
READ_TIMEOUT = 1.0

#: The close timeout every client gets: how long it waits for the server's close frame and
#: for the server to close TCP before it gives up and closes TCP itself.
CLOSE_TIMEOUT = 0.5

#: Seconds past which an attempt's worker thread counts as hung for good (a test failure).
HARD_LIMIT = 10.0

T = TypeVar("T")

Action = Literal["read", "close"]


@dataclass(frozen=True)
class Plan:
    """What the client does in one fault case.

    Attributes:
        expect: the text messages the client must receive, intact, before ``action``.
        action: ``"read"`` (read once more) or ``"close"`` (start the closing handshake).
    """

    expect: tuple[str, ...]
    action: Action


@dataclass(frozen=True)
class Reaction:
    """How a client's ``action`` ended.

    The first three fields are what the client's API showed; the last two what the server
    recorded the client doing next, filled in from the :class:`~pytest_wsmock.CloseInfo`.

    Attributes:
        error: the name of the exception the client raised (``None``: it raised nothing);
            ``"TimeoutError"`` when the test's own bound on a receive fired.
        code: the close code the client reports afterwards (``None`` when it shows none);
            1006 means "closed abnormally, no close frame".
        message: for a read that returned instead of raising, what it returned, by kind
            (``"close"`` for a close message, ``"closed"``, ``"error"``).
        sent_close: the code of the close frame the client sent (``None``: it sent none).
        tcp: who closed TCP first and how, e.g. ``"server FIN"``, ``"client FIN"``.
    """

    error: str | None = None
    code: int | None = None
    message: str | None = None
    sent_close: int | None = None
    tcp: str = ""

    def __post_init__(self) -> None:
        # Clients report codes as IntEnums (CloseCode, WSCloseCode): keep plain ints.
        if self.code is not None:
            object.__setattr__(self, "code", int(self.code))

    def client_side(self) -> str:
        """What the client's own API showed: ``raises `X`, code 1006``."""
        parts = []
        if self.error is not None:
            parts.append(f"raises `{self.error}`")
        if self.message is not None:
            parts.append(f"returns a `{self.message}` message")
        if self.error is None and self.message is None:
            parts.append("no error")
        if self.code is not None:
            parts.append(f"code {self.code}")
        return ", ".join(parts)

    def server_side(self) -> str:
        """What the server recorded the client doing: ``sent close 1000; TCP: client FIN``."""
        sent = "no close frame" if self.sent_close is None else f"sent close {self.sent_close}"
        return f"{sent}; TCP: {self.tcp}" if self.tcp else sent

    def __str__(self) -> str:
        return f"{self.client_side()} ({self.server_side()})"


@dataclass(frozen=True)
class Result:
    """A reaction, the messages received before it, and how long the action took."""

    reaction: Reaction
    received: tuple[str, ...]
    seconds: float


class React(Protocol):
    """The signature every client adapter has."""

    def __call__(self, url: str, plan: Plan) -> Result:
        """Meet the fault at ``url`` as ``plan`` says; see the module docstring."""
        ...


def _client(name: str) -> Callable[[React], React]:
    def decorate(adapter: React) -> React:
        @functools.wraps(adapter)
        def react(url: str, plan: Plan) -> Result:
            return bounded(name, lambda: adapter(url, plan), HARD_LIMIT)

        return react

    return decorate


class _Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def restart(self) -> None:
        self.start = time.monotonic()

    def seconds(self) -> float:
        return time.monotonic() - self.start


# -- websockets -----------------------------------------------------------------------------


@_client("websockets-asyncio")
def websockets_asyncio(url: str, plan: Plan) -> Result:
    """``websockets.asyncio.client.connect`` with open and close timeouts, no keepalive."""

    async def main() -> Result:
        received: list[str] = []
        clock = _Clock()
        with anyio.move_on_after(HARD_LIMIT - 2):
            async with websockets.asyncio.client.connect(
                url,
                open_timeout=TIMEOUT,
                close_timeout=CLOSE_TIMEOUT,
                ping_interval=None,
                proxy=None,
            ) as ws:
                for _ in plan.expect:
                    received.append(str(await asyncio.wait_for(ws.recv(), TIMEOUT)))
                clock.restart()
                if plan.action == "close":
                    await ws.close(1000)
                    return Result(Reaction(code=ws.close_code), tuple(received), clock.seconds())
                try:
                    extra = await asyncio.wait_for(ws.recv(), READ_TIMEOUT)
                except ConnectionClosed as exc:
                    name = exception_name(exc, "websockets")
                    return Result(Reaction(name, ws.close_code), tuple(received), clock.seconds())
                except TimeoutError:
                    reaction = Reaction("TimeoutError", ws.close_code)
                    return Result(reaction, tuple(received), clock.seconds())
                reaction = Reaction(message=f"unexpected {extra!r}")
                return Result(reaction, tuple(received), clock.seconds())
        raise ClientHung("websockets-asyncio ignored its timeouts")

    return asyncio.run(main())


@_client("websockets-sync")
def websockets_sync(url: str, plan: Plan) -> Result:
    """``websockets.sync.client.connect`` (in a ``with`` block) with open and close timeouts."""
    received: list[str] = []
    clock = _Clock()
    with websockets.sync.client.connect(
        url, open_timeout=TIMEOUT, close_timeout=CLOSE_TIMEOUT, proxy=None
    ) as ws:
        for _ in plan.expect:
            received.append(str(ws.recv(timeout=TIMEOUT)))
        clock.restart()
        if plan.action == "close":
            ws.close(1000)
            return Result(Reaction(code=ws.close_code), tuple(received), clock.seconds())
        try:
            extra = ws.recv(timeout=READ_TIMEOUT)
        except ConnectionClosed as exc:
            name = exception_name(exc, "websockets")
            return Result(Reaction(name, ws.close_code), tuple(received), clock.seconds())
        except TimeoutError:
            return Result(Reaction("TimeoutError", ws.close_code), tuple(received), clock.seconds())
        return Result(Reaction(message=f"unexpected {extra!r}"), tuple(received), clock.seconds())


# -- aiohttp --------------------------------------------------------------------------------


@_client("aiohttp")
def aiohttp_client(url: str, plan: Plan) -> Result:
    """``aiohttp.ClientSession.ws_connect`` with receive and close timeouts, no heartbeat."""

    async def main() -> Result:
        received: list[str] = []
        clock = _Clock()
        with anyio.move_on_after(HARD_LIMIT - 2):
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session,
                session.ws_connect(
                    url,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=TIMEOUT, ws_close=CLOSE_TIMEOUT),
                ) as ws,
            ):
                for _ in plan.expect:
                    msg = await ws.receive(timeout=TIMEOUT)
                    received.append(
                        msg.data if msg.type is aiohttp.WSMsgType.TEXT else f"<{msg.type.name}>"
                    )
                clock.restart()
                if plan.action == "close":
                    await ws.close(code=1000)
                    return Result(Reaction(code=ws.close_code), tuple(received), clock.seconds())
                try:
                    msg = await ws.receive(timeout=READ_TIMEOUT)
                except Exception as exc:
                    name = exception_name(exc, "aiohttp")
                    return Result(Reaction(name, ws.close_code), tuple(received), clock.seconds())
                if msg.type is aiohttp.WSMsgType.ERROR:
                    # aiohttp returns the exception as the data of an ERROR message.
                    reaction = Reaction(
                        exception_name(msg.data, "aiohttp"), ws.close_code, message="error"
                    )
                else:
                    reaction = Reaction(code=ws.close_code, message=msg.type.name.lower())
                return Result(reaction, tuple(received), clock.seconds())
        raise ClientHung("aiohttp ignored its timeouts")

    return asyncio.run(main())


# -- websocket-client -----------------------------------------------------------------------


@_client("websocket-client")
def websocket_client(url: str, plan: Plan) -> Result:
    """``websocket.create_connection`` with a socket timeout; ``close(timeout=...)``.

    websocket-client keeps no close code: a read that meets a close frame is done with
    ``recv_data(control_frame=True)``, whose close payload carries the code.
    """
    received: list[str] = []
    clock = _Clock()
    ws = websocket.create_connection(url, timeout=TIMEOUT)
    try:
        for _ in plan.expect:
            received.append(str(ws.recv()))
        clock.restart()
        if plan.action == "close":
            ws.close(status=1000, timeout=CLOSE_TIMEOUT)
            return Result(Reaction(), tuple(received), clock.seconds())
        try:
            ws.settimeout(READ_TIMEOUT)
            opcode, data = ws.recv_data(control_frame=True)
        except Exception as exc:
            return Result(
                Reaction(exception_name(exc, "websocket")), tuple(received), clock.seconds()
            )
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            return Result(Reaction(code=code, message="close"), tuple(received), clock.seconds())
        return Result(Reaction(message=f"opcode {opcode}"), tuple(received), clock.seconds())
    finally:
        ws.close(timeout=CLOSE_TIMEOUT)
        # After a close frame came in through recv, close() returns at once and leaves the
        # socket open (websocket-client 1.9): shutdown() closes it.
        ws.shutdown()  # type: ignore[no-untyped-call]


#: Every client, by the name used in test ids, expected.py and the docs table (in this order).
CLIENTS: dict[str, React] = {
    "websockets-asyncio": websockets_asyncio,
    "websockets-sync": websockets_sync,
    "aiohttp": aiohttp_client,
    "websocket-client": websocket_client,
}
