"""What the server and the client do for each catalogue, and the verdict of one case.

- Handshake entries (failures and rejections): the server answers the opening handshake with
  the entry; the client connects (offering ``chat`` where the entry assumes an offer).
- TLS faults: a ``wss://`` server with the fault; the client connects trusting the session CA.
- Frame violations: the server sends ``"before"``, the violation, then ``"after"`` (unless the
  violation is a close frame); the client receives until it fails or its timeout passes. The
  server closes TCP ``violation_grace`` after the violation, whatever the client does.
- Transport faults: the server sends ``"hello"`` and meets the fault (see :func:`plan_for`);
  the client receives what the server sends, then reads once more (faults that end the
  connection), closes (``no-close-reply``) or, for the faults that only slow the server
  down, must have received every message intact.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import anyio.to_thread

from .._errors import ConnectionClosed, WsmockError
from .._factory import ServerFactory
from .._faults import Fault
from .._frame_violations import FrameViolation
from .._handshakes import Handshake
from .._protocol import Opcode
from .._records import Direction
from .._server import MockServer
from .._tls import TlsFault
from .._websocket import WebSocket
from ._adapter import AdapterError, AnyClient
from ._catalogues import Case
from ._runner import Calls, run_bounded
from ._verdict import (
    Observed,
    Verdict,
    error_message,
    error_name,
    fault_verdict,
    frame_violation_verdict,
    opening_verdict,
)

#: The subprotocols offered for entries that assume the client offered some.
OFFERED = ("chat",)

#: The legal messages around a frame violation.
BEFORE = "before"
AFTER = "after"

#: Receives after the server broke something wait this many times the client's timeout: a
#: client whose close timeout is that timeout finishes its closing procedure first, rather
#: than racing the receive (which would make the verdict depend on timing).
READ_FACTOR = 2

#: At most this many messages are received after a frame violation.
MAX_MESSAGES = 8

#: The server options of the frame-violation cases: no permessage-deflate (RSV1 is legal with
#: it), strict mode off (how a client answers a broken close frame may break a rule itself),
#: and short grace and close timeouts.
VIOLATION_OPTIONS: dict[str, Any] = {
    "deflate": False,
    "strict": False,
    "violation_grace": 0.3,
    "close_timeout": 1.0,
}

#: The messages of the transport-fault cases.
GREETING = "hello"
LONG = "".join(chr(ord("a") + i % 26) for i in range(200))  # a 16-bit length header
LATER = "after the fault"
FROM_CLIENT = "from the client"

#: Faults after which the server sends nothing more: the client reads once more.
ENDING = frozenset({"drop", "reset", "half-close", "close-then-drop", "close-frame-only"})
#: Faults that change how later writes go out: they come before the messages.
WRITE_SHAPING = frozenset({"delay-writes", "throttle", "split-frames"})


@dataclass(frozen=True)
class Plan:
    """What happens in one transport-fault case.

    Attributes:
        steps: what the server does in order: a ``str`` is a text message, else the fault.
        expect: the messages the client must receive before ``action``.
        action: ``"read"`` (read once more), ``"close"`` (close) or ``"none"``.
        send: a message the client sends after the first one it received (``stop-reading``
            needs traffic from the client).
    """

    steps: tuple[str | Fault, ...]
    expect: tuple[str, ...]
    action: str
    send: str | None = None


def plan_for(fault: Fault) -> Plan:
    """The server's and the client's part in the case of ``fault``."""
    if fault.kind in ENDING:
        return Plan((GREETING, fault), (GREETING,), "read")
    if fault.kind == "no-close-reply":
        # The fault comes first, so the client's close cannot beat it.
        return Plan((fault, GREETING), (GREETING,), "close")
    if fault.kind in WRITE_SHAPING:
        return Plan((fault, GREETING, LONG, LATER), (GREETING, LONG, LATER), "none")
    send = FROM_CLIENT if fault.kind == "stop-reading" else None
    return Plan((GREETING, fault, LONG, LATER), (GREETING, LONG, LATER), "none", send)


def ends_with_close(entry: FrameViolation) -> bool:
    """Whether the violation is a close frame (the server then sends nothing after it)."""
    return entry.frames[-1].opcode == Opcode.CLOSE


def received_code(entry: FrameViolation) -> int | None:
    """The close code in the violation's close frame (``None``: none)."""
    payload = entry.frames[-1].payload
    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None


async def _drain(ws: WebSocket) -> None:
    async for _ in ws:
        pass


def _violate(entry: FrameViolation) -> Callable[[WebSocket], Awaitable[None]]:
    async def handler(ws: WebSocket) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            await ws.send_text(BEFORE)
            await entry.run(ws)
            if not ends_with_close(entry):
                await ws.send_text(AFTER)
            await _drain(ws)

    return handler


def _fault(plan: Plan) -> Callable[[WebSocket], Awaitable[None]]:
    async def handler(ws: WebSocket) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            for step in plan.steps:
                if isinstance(step, str):
                    await ws.send_text(step)
                else:
                    await step.run(ws)
            await _drain(ws)

    return handler


def start_server(case: Case, factory: ServerFactory) -> MockServer:
    """A server from ``factory`` that plays ``case``'s entry."""
    entry = case.entry
    if isinstance(entry, TlsFault):
        return factory(tls=True, tls_fault=entry, strict=False)
    if isinstance(entry, Handshake):
        server = factory(strict=False)
        server.handshake(entry)
        return server
    if isinstance(entry, FrameViolation):
        server = factory(**VIOLATION_OPTIONS)
        server.handler(_violate(entry))
        return server
    server = factory(strict=False)
    server.handler(_fault(plan_for(entry)))
    return server


def subprotocols_for(case: Case) -> tuple[str, ...]:
    """What the client offers: ``("chat",)`` for the entries that assume an offer."""
    entry = case.entry
    if isinstance(entry, Handshake) and entry.subprotocols_offered is True:
        return OFFERED
    return ()


def _playbook(case: Case, server: MockServer) -> Callable[[Calls], Awaitable[None]]:
    """The client's part in ``case``, as the runner calls it."""
    tls = isinstance(case.entry, TlsFault)
    ssl = server.client_ssl_context() if tls else None
    ca_path = str(server.ca_path) if tls else None

    async def play(calls: Calls) -> None:
        observed = calls.observed
        session = await calls.call(
            "connect",
            calls.timeout,
            calls.client.connect,
            server.url,
            ssl=ssl,
            ca_path=ca_path,
            subprotocols=list(subprotocols_for(case)),
            timeout=calls.timeout,
        )
        if session is None:
            if observed.hung:
                await calls.release()
            return
        observed.opened = True
        closed = False
        try:
            entry = case.entry
            if isinstance(entry, FrameViolation):
                await _receive_until_end(calls, session)
                await _settle_record(server, calls)
            elif isinstance(entry, Fault):
                closed = await _meet_fault(calls, session, plan_for(entry))
        finally:
            if observed.hung:
                await calls.release()
            if not closed:
                await calls.cleanup_close(session)

    return play


async def _receive(calls: Calls, session: Any, factor: float = 1) -> bool:
    """One receive with ``factor`` times the client's timeout; whether a message came (it is
    in ``observed.delivered``)."""
    seconds = calls.timeout * factor
    message = await calls.call("receive", seconds, session.receive, seconds)
    if message is None:
        return False
    calls.observed.delivered.append(message)
    return True


async def _receive_until_end(calls: Calls, session: Any) -> None:
    delivered = calls.observed.delivered
    while len(delivered) <= MAX_MESSAGES and await _receive(calls, session, READ_FACTOR):
        pass
    if delivered[:1] == [BEFORE]:
        del delivered[0]


async def _settle_record(server: MockServer, calls: Calls) -> None:
    """Wait until the server's record of the connection has ended (the server closes TCP
    ``violation_grace`` after the violation), before the session is closed."""

    def wait() -> None:
        connections = server.connections  # listed before the client got its answer
        if connections:
            with contextlib.suppress(WsmockError):
                connections[0].wait_closed(timeout=calls.timeout)

    calls.arm("close")
    await anyio.to_thread.run_sync(wait, abandon_on_cancel=True)


async def _meet_fault(calls: Calls, session: Any, plan: Plan) -> bool:
    """The client's part in a transport-fault case; whether it closed the session itself."""
    observed = calls.observed
    for number, _ in enumerate(plan.expect):
        if not await _receive(calls, session):
            return False
        if number == 0 and plan.send is not None:
            await calls.call("send", calls.timeout, session.send, plan.send)
            if observed.error is not None or observed.hung:
                return False
    if plan.action == "read":
        await _receive(calls, session, READ_FACTOR)
    elif plan.action == "close":
        # A close timeout may apply twice (the close frame, then TCP): more room than one.
        await calls.call("close", calls.timeout * READ_FACTOR, session.close)
        observed.closed = observed.error is None and not observed.hung
        return True
    return False


def run_case(client: AnyClient, case: Case, factory: ServerFactory, timeout: float) -> Verdict:
    """Let ``client`` meet ``case``'s entry on a server from ``factory``; its verdict."""
    server = start_server(case, factory)
    observed = run_bounded(client, timeout, _playbook(case, server), server.stop)
    return verdict_of(client, case, observed, server, timeout)


def verdict_of(
    client: AnyClient, case: Case, observed: Observed, server: MockServer, timeout: float
) -> Verdict:
    """The verdict of a finished case, from what the client showed and the server recorded
    (waiting up to ``timeout`` s for the record of a transport-fault case to end).

    Raises:
        AdapterError: the client could not connect in a case that needs a connection (the
            server answered the opening handshake correctly): a broken adapter, not a verdict.
    """
    entry, port = case.entry, server.port
    if isinstance(entry, (FrameViolation, Fault)) and observed.error and not observed.opened:
        error = observed.error
        raise AdapterError(
            f"adapter {client.name} could not open a connection to a server that answers "
            f"correctly ({case.id} needs one): {error_name(error)}: {error_message(error, port)}"
        ) from error
    if isinstance(entry, FrameViolation):
        sent_close, close_code = client_close(server, 0)
        return frame_violation_verdict(
            observed,
            ends_with_close=ends_with_close(entry),
            received_code=received_code(entry),
            sent_close=sent_close,
            close_code=close_code,
            port=port,
        )
    if isinstance(entry, Fault):
        sent_close, close_code = client_close(server, timeout)
        return fault_verdict(
            observed,
            expected=plan_for(entry).expect,
            sent_close=sent_close,
            close_code=close_code,
            port=port,
        )
    verdict = opening_verdict(observed, port)
    if verdict.kind == "caught" and case.catalogue == "handshake-failure":
        # What the client did on the wire after it refused the answer: a client that fails
        # the connection before it opened closes TCP and sends no frame (RFC 6455 section 4.1).
        sent_close, close_code = client_close(server, timeout)
        return replace(verdict, sent_close=sent_close, close_code=close_code)
    return verdict


def client_close(server: MockServer, timeout: float) -> tuple[bool, int | None]:
    """Whether the client sent a close frame on the server's first connection, and its code,
    from the record (waiting up to ``timeout`` s for the connection to end)."""
    connections = server.connections
    if not connections:
        return False, None
    conn = connections[0]
    with contextlib.suppress(WsmockError):
        conn.wait_closed(timeout=timeout)
    info = conn.close
    if info is not None:
        return info.client_sent, info.client_code
    closes = [
        f for f in conn.frames if f.direction is Direction.CLIENT and f.opcode == Opcode.CLOSE
    ]
    if not closes:
        return False, None
    payload = closes[0].payload
    return True, int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
