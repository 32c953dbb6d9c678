"""A connection as the test sees it: the record, plus waits and live control from any thread."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

from ._assertions import ANY
from ._connection import ConnectionRecord
from ._engine import Engine
from ._errors import BlockingCallError, ConnectionClosed, WaitTimeout, WsmockError
from ._protocol import Opcode
from ._records import CloseInfo, Direction, Message
from ._rules import ResponseFunction, Rule, rule
from ._steps import Step
from ._websocket import OutFrame

T = TypeVar("T")


class Waits:
    """Bounded, thread-safe waits on a server's records, shared by the server and its
    connections. A failure the server already knows of (a handler error, a failed script)
    ends a wait at once: it says more than a timeout would."""

    def __init__(
        self,
        cond: threading.Condition,
        default_timeout: float,
        failure: Callable[[], WsmockError | None],
        reported: Callable[[], None],
    ) -> None:
        self.cond = cond
        self.default_timeout = default_timeout
        #: The server's failure not reported yet (lock held), and how to mark it reported
        #: when a wait raises it, so that the verdict does not raise it again.
        self.failure = failure
        self.reported = reported

    def limit(self, timeout: float | None) -> float:
        return self.default_timeout if timeout is None else timeout

    def wait(
        self,
        predicate: Callable[[], bool],
        timeout: float | None,
        awaited: Callable[[], str],
        instead: Callable[[], str],
    ) -> None:
        limit = self.limit(timeout)
        with self.cond:
            if (
                self.cond.wait_for(lambda: predicate() or self.failure() is not None, limit)
                and predicate()
            ):
                return
            failure = self.failure()
            if failure is not None:
                self.reported()
            # Build the message with the lock held so that it matches what the predicate saw.
            what, seen = awaited(), instead()
        if failure is not None:
            raise failure
        raise WaitTimeout(f"timed out after {limit} s waiting for {what}; instead: {seen}")

    async def in_thread(self, fn: Callable[[], T]) -> T:
        # A worker thread does the blocking wait so the caller's event loop (asyncio or trio)
        # stays free; anyio picks the running backend itself. The worker runs no event loop,
        # so the blocking form's refuse_in_loop() lets it through.
        return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)


def refuse_in_loop(call: str, instead: str) -> None:
    """Raise :class:`BlockingCallError` when the calling thread runs an event loop.

    Every blocking wait and assertion starts with this, whether or not it would have to
    wait: the verdict must not depend on timing, and a wait that blocks the loop its client
    runs in can only time out.
    """
    __tracebackhide__ = True
    if in_event_loop():
        raise BlockingCallError(call, instead)


class LiveControl:
    """How a test reaches a connection's engine: the server's event-loop portal and the engine
    (set by the server once the connection is accepted)."""

    def __init__(self) -> None:
        self.portal: anyio.from_thread.BlockingPortal | None = None
        self.engine: Engine | None = None


class Connection(ConnectionRecord):
    """Everything the server saw and did on one client connection, with waits and live control.

    You do not build one: the server makes one per accepted TCP connection, and you get it from
    :meth:`MockServer.wait_for_connection`, ``await`` :meth:`MockServer.connection` or
    :attr:`MockServer.connections`. Every property returns a snapshot, safe to read from any
    thread while the connection is still live.
    """

    def __init__(
        self,
        waits: Waits,
        control: LiveControl,
        index: int,
        peer: tuple[str, int],
        *,
        budget: int | None = None,
        show_credentials: bool = False,
    ) -> None:
        super().__init__(waits.cond, index, peer, budget=budget, show_credentials=show_credentials)
        self._waits = waits
        self._control = control
        self._message_cursor = 0
        #: The upstream leg's record when the server relays this connection
        #: (``ws_server.proxy_to``), else ``None``. From the wire's point of view: its
        #: ``sent`` messages are the upstream's, its ``received`` what was relayed to it.
        self.upstream: ConnectionRecord | None = None

    # -- waits ------------------------------------------------------------------------------

    def wait_closed(self, timeout: float | None = None) -> CloseInfo:
        """Block until the connection has ended, and return how it ended. A relayed
        connection (``proxy_to``) has ended when its upstream leg has ended too.

        Args:
            timeout: seconds to wait; the server's ``timeout`` option by default.

        Raises:
            WaitTimeout: the connection was still open when the time ran out.
            BlockingCallError: called from a thread that runs an event loop (use
                ``await wait_closed_async()``).
        """
        refuse_in_loop("conn.wait_closed()", "await conn.wait_closed_async()")

        def ended() -> bool:
            return self.closed and (self.upstream is None or self.upstream.closed)

        self._waits.wait(ended, timeout, lambda: f"{self.label} to close", self.describe)
        info = self.close
        assert info is not None
        return info

    async def wait_closed_async(self, timeout: float | None = None) -> CloseInfo:
        """The awaitable form of :meth:`wait_closed`, for asyncio and trio tests."""
        return await self._waits.in_thread(lambda: self.wait_closed(timeout))

    def wait_for_messages(self, count: int, timeout: float | None = None) -> list[Message]:
        """Block until the client has sent at least ``count`` data messages; return them all.

        Raises:
            WaitTimeout: fewer had arrived when the time ran out (the message lists them).
            BlockingCallError: called from a thread that runs an event loop (use
                ``await wait_for_messages_async()``).
        """
        refuse_in_loop("conn.wait_for_messages()", "await conn.wait_for_messages_async()")

        def describe() -> str:
            # What came is in the last frames (a report with the transcript points to it).
            return f"{len(self.received)} arrived; {self.describe()}\n  {self.last_frames()}"

        def enough() -> bool:
            return sum(m.direction is Direction.CLIENT for m in self._messages) >= count

        self._waits.wait(
            lambda: enough() or self.closed,
            timeout,
            lambda: f"{count} message(s) from the client on {self.label}",
            describe,
        )
        received = self.received
        if len(received) < count:
            raise WaitTimeout(
                f"the connection ended while waiting for {count} message(s) from the client on "
                f"{self.label}; {describe()}"
            )
        return received

    async def wait_for_messages_async(
        self, count: int, timeout: float | None = None
    ) -> list[Message]:
        """The awaitable form of :meth:`wait_for_messages`."""
        return await self._waits.in_thread(lambda: self.wait_for_messages(count, timeout))

    def wait_for_message(self, timeout: float | None = None) -> Message:
        """Block until the client sends a message that no earlier call returned; return it.

        Raises:
            WaitTimeout: none came in time, or the connection ended first.
            BlockingCallError: called from a thread that runs an event loop (use
                ``await wait_for_message_async()``).
        """
        refuse_in_loop("conn.wait_for_message()", "await conn.wait_for_message_async()")
        with self._waits.cond:
            wanted = self._message_cursor + 1
        received = self.wait_for_messages(wanted, timeout)
        with self._waits.cond:
            self._message_cursor = max(self._message_cursor, wanted)
        return received[wanted - 1]

    async def wait_for_message_async(self, timeout: float | None = None) -> Message:
        """The awaitable form of :meth:`wait_for_message`."""
        return await self._waits.in_thread(lambda: self.wait_for_message(timeout))

    # -- assertions ------------------------------------------------------------------------

    def assert_received(
        self,
        *expected: Any,
        subset: bool = False,
        prefix: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Assert that the client sent exactly these messages, in order.

        Each expected item is matched against one message: ``str`` (a text message equal to
        it), ``bytes`` (a binary message equal to it), a ``dict`` or ``list`` (a text message
        holding this JSON; with ``subset=True`` dicts need only contain the given keys), a
        compiled regex (searched in the text), or a predicate on the value. The ``expect_*``
        steps match with the same rules.

        Args:
            expected: one matcher per message.
            subset: match JSON dicts as subsets.
            prefix: allow more messages after the expected ones.
            timeout: first wait this long for ``len(expected)`` messages (the server's
                ``timeout`` by default); the comparison then runs on what arrived.

        Raises:
            RecordMismatch: with a line per message (ok, MISMATCH, MISSING, UNEXPECTED) and
                the last frames seen.
            BlockingCallError: called from a thread that runs an event loop (use
                ``await assert_received_async()``).
        """
        __tracebackhide__ = True
        refuse_in_loop("conn.assert_received()", "await conn.assert_received_async()")
        if expected:
            with contextlib.suppress(WaitTimeout):
                self.wait_for_messages(len(expected), timeout)
        self._assert_received(expected, subset, prefix)

    async def assert_received_async(
        self,
        *expected: Any,
        subset: bool = False,
        prefix: bool = False,
        timeout: float | None = None,
    ) -> None:
        """The awaitable form of :meth:`assert_received`, for asyncio and trio tests."""
        __tracebackhide__ = True
        await self._waits.in_thread(
            lambda: self.assert_received(*expected, subset=subset, prefix=prefix, timeout=timeout)
        )

    def assert_closed(
        self,
        code: int | None = ANY,
        reason: str = ANY,
        *,
        initiator: Direction | None = ANY,
        server_code: int | None = ANY,
        clean: bool = ANY,
        tcp_closed_by: Direction = ANY,
        tcp_end: str = ANY,
        timeout: float | None = None,
    ) -> CloseInfo:
        """Wait for the connection to end and assert how: ``code`` and ``reason`` are the
        client's close frame's (``code=None``: a close frame without a code); the other
        fields are :class:`CloseInfo`'s. Fields left out are not checked.

        Raises:
            WaitTimeout: the connection did not end in time.
            RecordMismatch: a field differs; the message lists each difference.
            BlockingCallError: called from a thread that runs an event loop (use
                ``await assert_closed_async()``).
        """
        __tracebackhide__ = True
        refuse_in_loop("conn.assert_closed()", "await conn.assert_closed_async()")
        info = self.wait_closed(timeout)
        checks = {
            "client_code": code,
            "client_reason": reason,
            "initiator": initiator,
            "server_code": server_code,
            "clean": clean,
            "tcp_closed_by": tcp_closed_by,
            "tcp_end": tcp_end,
        }
        if code is not ANY or reason is not ANY:
            checks = {"client_sent": True, **checks}
        self._assert_closed(info, checks)
        return info

    async def assert_closed_async(
        self,
        code: int | None = ANY,
        reason: str = ANY,
        *,
        initiator: Direction | None = ANY,
        server_code: int | None = ANY,
        clean: bool = ANY,
        tcp_closed_by: Direction = ANY,
        tcp_end: str = ANY,
        timeout: float | None = None,
    ) -> CloseInfo:
        """The awaitable form of :meth:`assert_closed`, for asyncio and trio tests."""
        __tracebackhide__ = True
        return await self._waits.in_thread(
            lambda: self.assert_closed(
                code,
                reason,
                initiator=initiator,
                server_code=server_code,
                clean=clean,
                tcp_closed_by=tcp_closed_by,
                tcp_end=tcp_end,
                timeout=timeout,
            )
        )

    # -- live control from the test -------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[Engine], Awaitable[None]]) -> None:
        """Run ``fn`` on the engine in the server thread, bounded by the server's ``timeout``:
        a client that does not read cannot block the test past it."""
        engine, portal = self._control.engine, self._control.portal
        if engine is None or portal is None or not self.accepted:
            raise ConnectionClosed(self.label, what, "never opened")
        limit = self._waits.default_timeout

        async def bounded() -> bool:
            # The engine bounds each write by the same timeout; this is the backstop.
            stalled_before = engine.machine.write_stalled
            with anyio.move_on_after(limit + 1):
                try:
                    await fn(engine)
                except ConnectionClosed:
                    if engine.machine.write_stalled and not stalled_before:
                        return False  # this call's own write gave up
                    raise
                return True
            # A frame may be half written: the connection cannot go on.
            engine.note(
                f"{what} from the test did not finish within {limit} s (timeout): the client "
                f"did not read it, or a fault slowed the writes that much; the server closed TCP"
            )
            await engine.act(engine.machine.server_ends_tcp())
            return False

        if not portal.call(bounded):
            raise WaitTimeout(
                f"could not {what} on {self.label} within {limit} s: the client did not read "
                f"what the server wrote (its receive buffer is full), or a fault slowed the "
                f"writes that much; the server closed the connection (see its notes)"
            )

    def on(
        self,
        trigger: Step,
        *responses: Step | ResponseFunction,
        times: int | None = None,
        consume: bool = True,
    ) -> Rule:
        """Add a background rule to this connection now, after its other rules: from the
        next message the server reads, it answers every client message that ``trigger``
        matches (arguments as :meth:`MockServer.on`; see docs/rules.md).

        Raises:
            ConfigError: see :func:`rule`.
            ConnectionClosed: the connection never opened.
        """
        made = rule(trigger, *responses, times=times, consume=consume)
        engine, portal = self._control.engine, self._control.portal
        if engine is None or portal is None or not self.accepted:
            raise ConnectionClosed(self.label, "add a rule", "never opened")
        if self.closed:
            engine.rules.append(made)  # nothing reads the rules any more
        else:
            # In the server thread, which reads the rules: between two messages, never during.
            portal.call(engine.rules.append, made)
        return made

    def send_text(self, text: str, *, compress: bool | None = None) -> None:
        """Send a text message to the client now (from the test, any thread).

        Raises:
            ConnectionClosed: the connection is no longer open.
            WaitTimeout: the client did not read for the server's ``timeout``.
        """
        data = text.encode("utf-8")
        self._call("send TEXT", lambda e: e.send_message(Opcode.TEXT, data, compress))

    def send_binary(self, data: bytes, *, compress: bool | None = None) -> None:
        """Send a binary message to the client now."""
        payload = bytes(data)
        self._call("send BINARY", lambda e: e.send_message(Opcode.BINARY, payload, compress))

    def send_json(self, value: Any, *, compress: bool | None = None) -> None:
        """Send ``value`` as a JSON text message now."""
        self.send_text(json.dumps(value), compress=compress)

    def ping(self, payload: bytes = b"") -> None:
        """Send a ping now; the client's pong is checked in strict mode."""
        self._call("send PING", lambda e: e.send_frames([OutFrame(Opcode.PING, payload)]))

    def send_close(self, code: int | None = 1000, reason: str = "") -> CloseInfo:
        """Run the closing handshake from the server's side now; return how it ended.

        On a connection already closing or closed, or one that never opened, nothing is sent:
        this returns how it ended (or waits for that, at most ``close_timeout`` before the
        server closes TCP). (:attr:`close` is the record of how the connection ended; this
        starts the ending.)

        Raises:
            BlockingCallError: called from a thread that runs an event loop (use
                ``await send_close_async()``): the client could not answer meanwhile.
        """
        refuse_in_loop("conn.send_close()", "await conn.send_close_async()")
        engine, portal = self._control.engine, self._control.portal
        if engine is not None and portal is not None and not self.closed:
            portal.call(engine.close, code, reason)
        # engine.close returns once the connection ended; the record is final soon after
        # (bounded by close_timeout), so wait at least that long.
        return self.wait_closed(self._waits.default_timeout + engine_close_timeout(engine))

    async def send_text_async(self, text: str, *, compress: bool | None = None) -> None:
        """The awaitable form of :meth:`send_text`."""
        await self._waits.in_thread(lambda: self.send_text(text, compress=compress))

    async def send_binary_async(self, data: bytes, *, compress: bool | None = None) -> None:
        """The awaitable form of :meth:`send_binary`."""
        await self._waits.in_thread(lambda: self.send_binary(data, compress=compress))

    async def send_json_async(self, value: Any, *, compress: bool | None = None) -> None:
        """The awaitable form of :meth:`send_json`."""
        await self._waits.in_thread(lambda: self.send_json(value, compress=compress))

    async def ping_async(self, payload: bytes = b"") -> None:
        """The awaitable form of :meth:`ping`."""
        await self._waits.in_thread(lambda: self.ping(payload))

    async def send_close_async(self, code: int | None = 1000, reason: str = "") -> CloseInfo:
        """The awaitable form of :meth:`send_close`."""
        return await self._waits.in_thread(lambda: self.send_close(code, reason))


def engine_close_timeout(engine: Engine | None) -> float:
    """The ``close_timeout`` of the engine's server (0 without an engine)."""
    return engine.options.close_timeout if engine is not None else 0.0


def in_event_loop() -> bool:
    """Whether the calling thread is running an asyncio or trio event loop."""
    import asyncio
    import sys

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return True
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True
