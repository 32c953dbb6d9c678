"""One client connection as the test sees it: a thread-safe record, waits and live control."""

from __future__ import annotations

import bisect
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._assertions import ANY, RecordMismatch, assert_closed, assert_received
from ._errors import ConnectionClosed, WaitTimeout
from ._protocol import Opcode, Request, Violation
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message
from ._transcript import render_connection, render_frames
from ._websocket import OutFrame

if TYPE_CHECKING:
    from ._driver import _Driver
    from ._handshakes import Handshake
    from ._server import MockServer
    from ._steps import Step

T = TypeVar("T")


def _time(record: Frame | Message) -> float:
    return record.time


class Connection:
    """Everything the server saw and did on one client connection.

    You do not build one: the server makes one per accepted TCP connection, and you get it from
    :meth:`MockServer.wait_for_connection`, ``await`` :meth:`MockServer.connection` or
    :attr:`MockServer.connections`. Every property returns a snapshot, safe to read from any
    thread while the connection is still live.
    """

    def __init__(self, server: MockServer, index: int, peer: tuple[str, int]) -> None:
        self._server = server
        self._cond: threading.Condition = server._cond
        #: Position of this connection among the server's connections, from 0.
        self.index = index
        #: The client's ``(host, port)``.
        self.peer = peer
        #: ``time.monotonic()`` when the TCP connection was accepted.
        self.accepted_at = time.monotonic()
        self._request: Request | None = None
        self._response: HandshakeResponse | None = None
        self._subprotocol: str | None = None
        self._extensions: str | None = None
        self._frames: list[Frame] = []
        self._messages: list[Message] = []
        self._pings: list[bytes] = []
        self._pongs: list[bytes] = []
        self._violations: list[Violation] = []
        self._close: CloseInfo | None = None
        self._ended = False
        self._handshake_done = False
        self._tls_error: str | None = None
        self._handshake: Handshake | None = None
        self._origin_allowed: bool | None = None
        self._driver: _Driver | None = None
        self._script: tuple[Step, ...] | None = None
        self._script_position = 0
        self._script_done = False
        self._script_failure: str | None = None
        self._message_cursor = 0
        self._notes: list[str] = []

    # -- what the test reads ----------------------------------------------------------------

    def _get(self, getter: Callable[[], T]) -> T:
        with self._cond:
            return getter()

    @property
    def request(self) -> Request | None:
        """The opening-handshake request, or ``None`` until one was read (or if none came)."""
        return self._request

    @property
    def path(self) -> str | None:
        """The request path, without the query, or ``None`` before the request was read."""
        return self._request.path if self._request else None

    @property
    def response(self) -> HandshakeResponse | None:
        """The handshake response the server wrote, or ``None`` if it wrote none."""
        return self._response

    @property
    def accepted(self) -> bool:
        """Whether the server answered the handshake with ``101 Switching Protocols``."""
        return self._response is not None and self._response.status == 101

    @property
    def handshake(self) -> Handshake | None:
        """The handshake outcome the server applied to this connection."""
        return self._handshake

    @property
    def origin_allowed(self) -> bool | None:
        """With an origin allow-list: whether the request's ``Origin`` was allowed (``None``
        when the outcome has no allow-list)."""
        return self._origin_allowed

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server selected, if any."""
        return self._subprotocol

    @property
    def extensions(self) -> str | None:
        """The ``Sec-WebSocket-Extensions`` value the server answered with, if any."""
        return self._extensions

    @property
    def frames(self) -> list[Frame]:
        """Every frame in both directions, in the order it passed."""
        return self._get(lambda: list(self._frames))

    @property
    def messages(self) -> list[Message]:
        """Every data message in both directions, in order."""
        return self._get(lambda: list(self._messages))

    @property
    def received(self) -> list[Message]:
        """The data messages the client sent."""
        return self._get(lambda: [m for m in self._messages if m.direction is Direction.CLIENT])

    @property
    def sent(self) -> list[Message]:
        """The data messages the server sent."""
        return self._get(lambda: [m for m in self._messages if m.direction is Direction.SERVER])

    @property
    def received_texts(self) -> list[str]:
        """The text messages the client sent, as ``str``."""
        return [m.text for m in self.received if m.is_text]

    @property
    def received_bytes(self) -> list[bytes]:
        """The binary messages the client sent, as ``bytes``."""
        return [m.data for m in self.received if not m.is_text]

    @property
    def received_values(self) -> list[str | bytes]:
        """The client's messages as values: ``str`` for text, ``bytes`` for binary."""
        return [m.value for m in self.received]

    @property
    def received_json(self) -> list[Any]:
        """The text messages the client sent, each parsed as JSON."""
        return [json.loads(text) for text in self.received_texts]

    @property
    def pings(self) -> list[bytes]:
        """Payloads of the pings the client sent."""
        return self._get(lambda: list(self._pings))

    @property
    def pongs(self) -> list[bytes]:
        """Payloads of the pongs the client sent."""
        return self._get(lambda: list(self._pongs))

    @property
    def violations(self) -> list[Violation]:
        """Protocol rules the client broke on this connection (and limits it went over: see
        the ``LIMIT_KINDS`` note in the docs; those do not fail strict mode)."""
        return self._get(lambda: list(self._violations))

    @property
    def close(self) -> CloseInfo | None:
        """How the connection ended, or ``None`` while it is still open."""
        return self._close

    @property
    def closed(self) -> bool:
        """Whether the connection has ended (TCP is closed on the server's side)."""
        return self._ended

    @property
    def tls_error(self) -> str | None:
        """Why the TLS handshake failed, when it did (e.g. the client did not trust the CA)."""
        return self._tls_error

    @property
    def notes(self) -> list[str]:
        """Events worth knowing that are not frames: e.g. the client closed before the request."""
        return self._get(lambda: list(self._notes))

    @property
    def label(self) -> str:
        """A short name for messages: ``connection #0 (GET /chat)``."""
        request = self._request
        what = f"{request.method} {request.target}" if request else "no request"
        return f"connection #{self.index} ({what})"

    def describe(self) -> str:
        """One line on the connection's state, for failure messages."""
        with self._cond:
            frames = len(self._frames)
            state = str(self._close) if self._close else ("ended" if self._ended else "open")
        return f"{self.label}: {frames} frames; {state}"

    def __repr__(self) -> str:
        return f"<Connection {self.describe()}>"

    # -- waits ------------------------------------------------------------------------------

    def wait_closed(self, timeout: float | None = None) -> CloseInfo:
        """Block until the connection has ended, and return how it ended.

        Args:
            timeout: seconds to wait; the server's ``timeout`` option by default.

        Raises:
            WaitTimeout: the connection was still open when the time ran out.
        """
        self._server._wait(
            lambda: self._ended,
            timeout,
            lambda: f"{self.label} to close",
            self.describe,
        )
        assert self._close is not None
        return self._close

    async def wait_closed_async(self, timeout: float | None = None) -> CloseInfo:
        """The awaitable form of :meth:`wait_closed`, for asyncio and trio tests."""
        return await self._server._in_thread(lambda: self.wait_closed(timeout))

    def wait_for_messages(self, count: int, timeout: float | None = None) -> list[Message]:
        """Block until the client has sent at least ``count`` data messages; return them all.

        Raises:
            WaitTimeout: fewer had arrived when the time ran out (the message lists them).
        """

        def describe() -> str:
            got = self.received
            return f"{len(got)} arrived: {list(got)!r}; {self.describe()}"

        self._server._wait(
            lambda: (
                sum(m.direction is Direction.CLIENT for m in self._messages) >= count or self._ended
            ),
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
        return await self._server._in_thread(lambda: self.wait_for_messages(count, timeout))

    def wait_for_message(self, timeout: float | None = None) -> Message:
        """Block until the client sends a message that no earlier call returned; return it.

        Raises:
            WaitTimeout: none came in time, or the connection ended first.
        """
        with self._cond:
            wanted = self._message_cursor + 1
        received = self.wait_for_messages(wanted, timeout)
        with self._cond:
            self._message_cursor = max(self._message_cursor, wanted)
        return received[wanted - 1]

    async def wait_for_message_async(self, timeout: float | None = None) -> Message:
        """The awaitable form of :meth:`wait_for_message`."""
        return await self._server._in_thread(lambda: self.wait_for_message(timeout))

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
        compiled regex (searched in the text), or a predicate on the value.

        Args:
            expected: one matcher per message.
            subset: match JSON dicts as subsets.
            prefix: allow more messages after the expected ones.
            timeout: first wait this long for ``len(expected)`` messages (the server's
                ``timeout`` by default); the comparison then runs on what arrived.

        Raises:
            RecordMismatch: with a line per message (ok, MISMATCH, MISSING, UNEXPECTED) and
                the last frames seen.
        """
        __tracebackhide__ = True
        if expected:
            with contextlib.suppress(WaitTimeout):
                self.wait_for_messages(len(expected), timeout)
        assert_received(self, expected, subset=subset, prefix=prefix)

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
        """
        __tracebackhide__ = True
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
        assert_closed(self, info, checks)
        return info

    def assert_no_violations(self) -> None:
        """Assert that the client broke no protocol rule on this connection.

        Raises:
            RecordMismatch: listing the violations.
        """
        __tracebackhide__ = True
        violations = self.violations
        if violations:
            raise RecordMismatch(
                f"{self.label}: the client broke {len(violations)} rule(s):\n"
                + "\n".join(f"  {v}" for v in violations)
            )

    def transcript(self) -> str:
        """The readable account of this connection that failure reports show."""
        return render_connection(self)

    # -- live control from the test -------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[_Driver], Awaitable[None]]) -> None:
        driver = self._driver
        portal = self._server._portal
        if driver is None or portal is None or not self.accepted:
            raise ConnectionClosed(f"cannot {what} on {self.label}: it was never opened")
        portal.call(fn, driver)

    def send_text(self, text: str, *, compress: bool | None = None) -> None:
        """Send a text message to the client now (from the test, any thread).

        Raises:
            ConnectionClosed: the connection is no longer open.
        """
        data = text.encode("utf-8")
        self._call("send text", lambda d: d.send_message(Opcode.TEXT, data, compress))

    def send_binary(self, data: bytes, *, compress: bool | None = None) -> None:
        """Send a binary message to the client now."""
        payload = bytes(data)
        self._call("send binary", lambda d: d.send_message(Opcode.BINARY, payload, compress))

    def send_json(self, value: Any, *, compress: bool | None = None) -> None:
        """Send ``value`` as a JSON text message now."""
        self.send_text(json.dumps(value), compress=compress)

    def ping(self, payload: bytes = b"") -> None:
        """Send a ping now; the client's pong is checked in strict mode."""
        self._call("ping", lambda d: d.send_frames([OutFrame(Opcode.PING, payload)]))

    def send_close(self, code: int | None = 1000, reason: str = "") -> CloseInfo:
        """Run the closing handshake from the server's side now; return how it ended.

        (:attr:`close` is the record of how the connection ended; this starts the ending.)
        """
        self._call("close", lambda d: d.close(code, reason))
        return self.wait_closed()

    async def send_text_async(self, text: str, *, compress: bool | None = None) -> None:
        """The awaitable form of :meth:`send_text`."""
        await self._server._in_thread(lambda: self.send_text(text, compress=compress))

    async def send_binary_async(self, data: bytes, *, compress: bool | None = None) -> None:
        """The awaitable form of :meth:`send_binary`."""
        await self._server._in_thread(lambda: self.send_binary(data, compress=compress))

    async def send_json_async(self, value: Any, *, compress: bool | None = None) -> None:
        """The awaitable form of :meth:`send_json`."""
        await self._server._in_thread(lambda: self.send_json(value, compress=compress))

    async def ping_async(self, payload: bytes = b"") -> None:
        """The awaitable form of :meth:`ping`."""
        await self._server._in_thread(lambda: self.ping(payload))

    async def send_close_async(self, code: int | None = 1000, reason: str = "") -> CloseInfo:
        """The awaitable form of :meth:`send_close`."""
        return await self._server._in_thread(lambda: self.send_close(code, reason))

    # -- what the server writes (called with no lock held, from the server thread) ----------

    def _update(self, change: Callable[[], None]) -> None:
        with self._cond:
            change()
            self._cond.notify_all()

    def _record_frame(self, frame: Frame) -> None:
        # In time order: a frame the server wrote is timed when its write started, and the
        # client's answer may be recorded before that write returned.
        with self._cond:
            if self._frames and self._frames[-1].time > frame.time:
                bisect.insort(self._frames, frame, key=_time)
            else:
                self._frames.append(frame)

    def _record_message(self, message: Message) -> None:
        with self._cond:
            if self._messages and self._messages[-1].time > message.time:
                bisect.insort(self._messages, message, key=_time)
            else:
                self._messages.append(message)
            self._cond.notify_all()

    def _script_at(self, index: int) -> None:
        self._update(lambda: setattr(self, "_script_position", index))

    def _script_finished(self) -> None:
        self._update(lambda: setattr(self, "_script_done", True))

    def _script_step_text(self, index: int) -> str:
        assert self._script is not None
        return f"step {index + 1} of {len(self._script)}, {self._script[index].describe()}"

    def _last_frames(self, count: int = 6) -> str:
        frames = self.frames[-count:]
        if not frames:
            return "no frames were seen"
        lines = render_frames(frames, self.messages, self.accepted_at, "    ")
        return "last frames seen:\n" + "\n".join(lines)

    def _script_failed(self, index: int, step: Step, why: str) -> None:
        text = (
            f"{self.label}: script {self._script_step_text(index)}: {why}\n  {self._last_frames()}"
        )
        self._update(lambda: setattr(self, "_script_failure", text))

    def _script_cut_short(self, index: int, step: Step) -> None:
        text = (
            f"script stopped at {self._script_step_text(index)}: the connection ended after the "
            f"server broke the protocol on purpose"
        )

        def record() -> None:
            self._notes.append(text)
            self._script_done = True

        self._update(record)

    def _script_unfinished(self) -> str:
        state = str(self._close) if self._close else "the connection is still open"
        return (
            f"{self.label}: the script did not finish: it was at "
            f"{self._script_step_text(self._script_position)} ({state})\n  {self._last_frames()}"
        )

    @property
    def script_failure(self) -> str | None:
        """Why this connection's script failed, or ``None``."""
        return self._script_failure

    def _record_violation(self, violation: Violation) -> None:
        with self._cond:
            self._violations.append(violation)
            self._server._violations.append((self.label, violation))
            self._cond.notify_all()
