"""The record of one connection: plain data, written through named methods under one lock.

The engine writes (``record_frame``, ``record_message``, ``note``, ``violation``, ``finish``,
...) from the server thread; the test reads snapshots from any thread. Every write happens
*before* the bytes it describes leave the server, so the record never lags what the client saw.
Assertions and the transcript read this record only.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ._assertions import ANY, assert_closed, assert_no_violations, assert_received
from ._preview import DEFAULT_PREVIEW, frames_block
from ._protocol import Request, Violation
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message
from ._transcript import render_connection, render_frames

T = TypeVar("T")

#: Orders violations across the connections of a process (the server lists them in order).
_SEQUENCE = itertools.count()
#: What a recorded frame or message costs beyond its payload (measured: about 290 bytes a
#: frame with its header, list slot and timestamps); used for the record budget.
FRAME_OVERHEAD = 300
MESSAGE_OVERHEAD = 200


def _time(record: Frame | Message) -> float:
    return record.time


@dataclass(frozen=True, slots=True)
class ScriptProgress:
    """Where a connection's script is: the steps, the current one, and how it ended.

    Attributes:
        steps: the script's steps, as they read (``describe()``).
        expects: for each step, whether it is an expectation (it fails when the connection
            ends before it is met).
        position: the index of the step running now (or that ended the script).
        done: the script ran to its end, or stopped as its lifecycle allows.
        failure: why it failed, or ``None``.
        excused: the server broke the protocol on purpose on this connection, so expectations
            the connection's end leaves unmet stop the script quietly.
    """

    steps: tuple[str, ...]
    expects: tuple[bool, ...]
    position: int = 0
    done: bool = False
    failure: str | None = None
    excused: bool = False


class ConnectionRecord:
    """Everything the server saw and did on one client connection, as data.

    Every property returns a snapshot, safe to read from any thread while the connection is
    still live. (The :class:`Connection` you get from the server adds waits and live control.)
    """

    def __init__(
        self,
        cond: threading.Condition,
        index: int,
        peer: tuple[str, int],
        *,
        budget: int | None = None,
        show_credentials: bool = False,
    ) -> None:
        self._cond = cond
        #: Position of this connection among the server's connections, from 0.
        self.index = index
        #: The client's ``(host, port)``.
        self.peer = peer
        #: ``time.monotonic()`` when the TCP connection was accepted.
        self.accepted_at = time.monotonic()
        self._budget = budget
        self._show_credentials = show_credentials
        self._held = 0
        self._request: Request | None = None
        self._response: HandshakeResponse | None = None
        self._subprotocol: str | None = None
        self._extensions: str | None = None
        self._frames: list[Frame] = []
        self._messages: list[Message] = []
        self._pings: list[bytes] = []
        self._pongs: list[bytes] = []
        self._violations: list[tuple[int, Violation]] = []
        self._close: CloseInfo | None = None
        self._ended = False
        self._handshake_done = False
        self._tls_error: str | None = None
        self._handshake: Any = None
        self._origin_allowed: bool | None = None
        self._script: ScriptProgress | None = None
        self._notes: list[str] = []
        self._route: str | None = None

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
    def handshake(self) -> Any:
        """The handshake outcome (a :class:`Handshake`) the server applied to this connection."""
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
        """Protocol rules the client broke on this connection (and limits it went over:
        ``Violation.limit`` says which; those do not fail strict mode)."""
        return self._get(lambda: [v for _, v in self._violations])

    def numbered_violations(self) -> list[tuple[int, Violation]]:
        """The violations with a process-wide sequence number, to merge several connections'
        lists in the order they happened."""
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
    def handshake_done(self) -> bool:
        """Whether the server has acted on the opening handshake (answered it, or closed)."""
        return self._handshake_done

    @property
    def tls_error(self) -> str | None:
        """Why the TLS handshake failed, when it did (e.g. the client did not trust the CA)."""
        return self._tls_error

    @property
    def notes(self) -> list[str]:
        """Events worth knowing that are not frames: e.g. the client closed before the request,
        a fault fired, a script step was skipped because the connection had ended."""
        return self._get(lambda: list(self._notes))

    @property
    def script(self) -> ScriptProgress | None:
        """The progress of this connection's script, or ``None`` when it runs none."""
        return self._script

    @property
    def script_failure(self) -> str | None:
        """Why this connection's script failed, or ``None``."""
        script = self._script
        return script.failure if script else None

    @property
    def route(self) -> str | None:
        """The route that served this connection (its path or pattern); ``None``: server-wide."""
        return self._get(lambda: self._route)

    @property
    def show_credentials(self) -> bool:
        """Whether the transcript shows credential header values in full."""
        return self._show_credentials

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

    def last_frames(self, count: int = 6) -> str:
        """The last frames seen, rendered for failure messages (a report that shows the
        transcript replaces them with a pointer to it: see ``WsmockError.transcript_shown``)."""
        with self._cond:
            frames, messages = list(self._frames), list(self._messages)
        if not frames:
            return "no frames were seen"
        first = max(0, len(frames) - count)
        lines = render_frames(frames, messages, self.accepted_at, "    ", first=first)
        return frames_block(lines)

    def transcript(self, *, preview: int = DEFAULT_PREVIEW) -> str:
        """The readable account of this connection that failure reports show; ``preview``
        caps each payload shown (characters of text, bytes of binary; 0: no cap)."""
        return render_connection(self, show_credentials=self._show_credentials, preview=preview)

    # -- assertions ---------------------------------------------------------------------------

    def assert_no_violations(self) -> None:
        """Assert that the client broke no protocol rule on this connection.

        Raises:
            RecordMismatch: listing the violations.
        """
        __tracebackhide__ = True
        assert_no_violations(self)

    def _assert_received(self, expected: tuple[Any, ...], subset: bool, prefix: bool) -> None:
        __tracebackhide__ = True
        assert_received(self, expected, subset=subset, prefix=prefix)

    def _assert_closed(self, info: CloseInfo, checks: dict[str, Any]) -> None:
        __tracebackhide__ = True
        assert_closed(self, info, {k: v for k, v in checks.items() if v is not ANY})

    # -- what the engine writes (server thread; each write notifies waiters) --------------------

    def _update(self, change: Callable[[], None]) -> None:
        with self._cond:
            change()
            self._cond.notify_all()

    def record_outcome(self, outcome: Any) -> None:
        """The handshake outcome chosen for this connection."""
        self._update(lambda: setattr(self, "_handshake", outcome))

    def record_route(self, route: str | None) -> None:
        """The route chosen for this connection."""
        self._update(lambda: setattr(self, "_route", route))

    def record_request(self, request: Request) -> None:
        """The opening-handshake request, once parsed."""
        self._update(lambda: setattr(self, "_request", request))

    def record_origin(self, allowed: bool) -> None:
        """The origin allow-list's verdict."""
        self._update(lambda: setattr(self, "_origin_allowed", allowed))

    def record_response(
        self,
        response: HandshakeResponse,
        *,
        subprotocol: str | None = None,
        extensions: str | None = None,
    ) -> None:
        """The handshake response, just before it is written; waits for the connection return
        from here on."""

        def record() -> None:
            self._response = response
            if response.status == 101:
                self._subprotocol = subprotocol
                self._extensions = extensions
            self._handshake_done = True

        self._update(record)

    def handshake_handled(self) -> None:
        """The server acted on the handshake without a response (a fault, no request)."""
        self._update(lambda: setattr(self, "_handshake_done", True))

    def record_tls_error(self, text: str) -> None:
        """Why the TLS handshake failed."""
        self._update(lambda: setattr(self, "_tls_error", text))

    def record_frame(self, frame: Frame) -> bool:
        """A frame, read or about to be written. Returns False when the record budget is
        spent (the engine then ends the connection)."""
        with self._cond:
            # In time order: a frame the server writes is timed when its write starts, and the
            # client's answer may be recorded before that write returned.
            if self._frames and self._frames[-1].time > frame.time:
                bisect.insort(self._frames, frame, key=_time)
            else:
                self._frames.append(frame)
            self._held += len(frame.payload) + len(frame.header) + FRAME_OVERHEAD
            return self._budget is None or self._held <= self._budget

    def record_message(self, message: Message) -> bool:
        """A whole data message, read or about to be written (its last frame not yet out).
        Returns False when the record budget is spent."""
        with self._cond:
            if self._messages and self._messages[-1].time > message.time:
                bisect.insort(self._messages, message, key=_time)
            else:
                self._messages.append(message)
            self._held += len(message.data) + MESSAGE_OVERHEAD
            self._cond.notify_all()
            return self._budget is None or self._held <= self._budget

    @property
    def record_size(self) -> int:
        """About how many bytes of memory the record of frames and messages holds."""
        return self._held

    def record_ping(self, payload: bytes) -> None:
        """A ping the client sent."""
        self._update(lambda: self._pings.append(payload))

    def record_pong(self, payload: bytes) -> None:
        """A pong the client sent."""
        self._update(lambda: self._pongs.append(payload))

    def note(self, text: str) -> None:
        """Something worth knowing that is not a frame."""
        self._update(lambda: self._notes.append(text))

    def violation(self, violation: Violation) -> None:
        """A rule the client broke (or a limit it went over)."""
        self._update(lambda: self._violations.append((next(_SEQUENCE), violation)))

    def finish(self, info: CloseInfo) -> None:
        """The connection has ended: how. The record is final."""

        def finish() -> None:
            self._close = info
            self._ended = True
            self._handshake_done = True

        self._update(finish)

    # -- the script's progress -------------------------------------------------------------------

    def script_started(self, steps: tuple[str, ...], expects: tuple[bool, ...]) -> None:
        """A script starts on this (opened) connection."""
        self._update(lambda: setattr(self, "_script", ScriptProgress(steps, expects)))

    def _script_change(self, **changes: Any) -> None:
        def change() -> None:
            assert self._script is not None
            self._script = dataclasses.replace(self._script, **changes)

        self._update(change)

    def script_at(self, index: int, *, excused: bool = False) -> None:
        """The script is at step ``index`` (``excused``: the server broke the protocol on
        purpose by now)."""
        script = self._script
        self._script_change(position=index, excused=excused or bool(script and script.excused))

    def script_excused(self) -> None:
        """The server broke the protocol on purpose on this connection (see ``excused``)."""
        self._script_change(excused=True)

    def script_finished(self) -> None:
        """The script ran to its end (or stopped as its lifecycle allows)."""
        self._script_change(done=True)

    def step_text(self, index: int) -> str:
        """``step 2 of 3, expect_text('hello')``."""
        script = self._script
        assert script is not None
        return f"step {index + 1} of {len(script.steps)}, {script.steps[index]}"

    def script_failed(self, index: int, why: str) -> None:
        """Step ``index`` failed (the script stops there)."""
        text = f"{self.label}: script {self.step_text(index)}: {why}\n  {self.last_frames()}"
        self._script_change(position=index, failure=text)

    def unfinished_script(self) -> str | None:
        """At teardown: why the script still owes something, or ``None`` when it owes nothing.

        The lifecycle (docs/scripts.md): the step running when the test ended, and every step
        after it, are judged as if the connection had ended there. Expectations not met fail;
        anything else (sends, waits, faults) is noted as skipped.
        """
        script = self._script
        if script is None or script.done or script.failure:
            return None
        pending = range(script.position, len(script.steps))
        unmet = [i for i in pending if script.expects[i]]
        skipped = [i for i in pending if not script.expects[i]]
        for index in skipped:
            self.note(
                f"script {self.step_text(index)}: not run, the test ended first"
                if index != script.position
                else f"script {self.step_text(index)}: still running when the test ended"
            )
        if not unmet:
            self.script_finished()
            return None
        if script.excused:
            self.note(
                f"script stopped at {self.step_text(script.position)}: the test ended after the "
                f"server broke the protocol on purpose"
            )
            self.script_finished()
            return None
        state = str(self._close) if self._close else "the connection is still open"
        later = [i for i in unmet if i != script.position]
        also = f"; expectations not met after it: {', '.join(self.step_text(i) for i in later)}"
        return (
            f"{self.label}: the script did not finish: it was at "
            f"{self.step_text(script.position)} ({state}){also if later else ''}\n"
            f"  {self.last_frames()}"
        )
