"""The base of a connection's engine: its state, and carrying out the state machine's actions.

See ``_engine.py`` for the theory of operation. `ConnectionCore` holds everything one connection
is made of (the state machine, the record, the queues to the handler, the deadlines) and does
what `ConnectionState` decides; reading (``_reading.py``) and writing (``_engine.py``) build on
it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import anyio
from anyio.abc import ByteStream, SocketAttribute

from ._connection import ConnectionRecord
from ._errors import ConnectionClosed
from ._fastio import FastSocketStream
from ._handlers import InlineHandler
from ._handshakes import Handshake
from ._inbox import Inbox
from ._options import ServerOptions
from ._pings import PingTracker
from ._protocol import (
    Action,
    ConnectionState,
    Opcode,
    Outcome,
    PerMessageDeflate,
    Request,
    State,
    Violation,
    build_close_payload,
)
from ._records import CloseInfo, Direction, Frame, Message
from ._routes import Behaviour, Prepare, Release
from ._rules import Rule
from ._steps import Step
from ._websocket import OutFrame, WebSocket

Handler = Callable[[WebSocket], Awaitable[Any]]

RECEIVE_SIZE = 65536


class Host(Protocol):
    """What the engine needs from the server above it (the server implements it)."""

    @property
    def options(self) -> ServerOptions: ...

    @property
    def url(self) -> str: ...

    def tls_context(self) -> ssl.SSLContext: ...

    def error(self, where: str, exc: BaseException) -> None: ...

    def release_event(self, label: str) -> anyio.Event: ...

    def early_behaviour(self, record: ConnectionRecord) -> Behaviour | None:
        """The behaviour of a connection whose outcome acts before its request is read
        (``close-before-request``), the record then listed; ``None`` in every other case."""
        ...

    def answer_http(self, request: Request, body: bytes, problem: tuple[int, str] | None) -> bytes:
        """Record a plain-HTTP request (not a WebSocket connection: it is not listed) and
        return the response to write (``problem``: its body could not be read)."""
        ...

    def behaviour(self, record: ConnectionRecord, request: Request | None) -> Behaviour:
        """List ``record`` as a WebSocket connection and choose what it does: for its parsed
        ``request``, or (``None``) for a connection that ended before a complete request."""
        ...


def client_rule(kind: str, detail: str, rfc: str) -> Violation:
    """A rule the client broke that the server records without failing the connection."""
    return Violation(kind, detail, rfc, close_code=None, status=None, fatal=False)


class ConnectionCore:
    """One connection's state and the actions on it (the engine's lowest part)."""

    def __init__(
        self,
        host: Host,
        stream: ByteStream,
        record: ConnectionRecord,
        *,
        outcome: Handshake | None = None,
        handler: Handler | None = None,
        steps: tuple[Step, ...] | None = None,
        rules: Sequence[Rule] = (),
    ) -> None:
        self.host = host
        self.options = host.options
        self.socket_stream = stream
        self.stream = stream
        self.record = record
        # What the connection does: chosen by the host once the request is parsed (`choose`).
        self.outcome = outcome or Handshake()
        self.handler = handler
        self.steps = steps
        #: Run before the request is answered (``Behaviour.prepare``): a proxy's upstream leg.
        self.prepare: Prepare | None = None
        #: Run once the connection has ended (``Behaviour.release``).
        self.release: Release | None = None
        #: Background rules, in order (``conn.on`` appends, in the server thread); the reader
        #: offers them each client message, ping and pong first (``_reading.py``).
        self.rules: list[Rule] = list(rules)
        #: How often each rule (by position) has answered; rules spent or broken stop.
        self.rule_answers: dict[int, int] = {}
        self.rules_stopped: set[int] = set()
        #: Client messages and pings read so far (their numbers in the record, from 0).
        self.received_count = 0
        self.ping_count = 0
        self.pong_count = 0
        #: The id of the task that reads the connection (rules' responses run in it).
        self.reader_task: int | None = None
        self.route: str | None = None
        self.chosen = outcome is not None
        #: The request was plain HTTP: this is no WebSocket connection (never listed).
        self.plain_http = False
        self.machine = ConnectionState()
        self.deflate: PerMessageDeflate | None = None
        # fast_acquire: no trip through the event loop when the lock is free (nearly always).
        self.write_lock = anyio.Lock(fast_acquire=True)
        # The client's messages, and its pings and pongs, for handlers and scripts.
        self.inbox: Inbox[Message] = Inbox()
        self.controls: Inbox[Frame] = Inbox()
        self.pings = PingTracker()
        self.inline: InlineHandler | None = None
        # The handler's view of this connection; the engine, which is the `Link`, sets it.
        self.websocket: WebSocket
        self.reading_allowed = anyio.Event()
        self.reading_allowed.set()
        self.task_group: anyio.abc.TaskGroup | None = None
        # Bytes read but not parsed (see finish): every byte is accounted for in the record.
        self.unparsed = 0
        self.read_scope = anyio.CancelScope()
        #: Set once the record is final (``finish``).
        self.ended = anyio.Event()
        #: Set when the reader has stopped: the connection has ended.
        self.reader_ended = anyio.Event()
        #: Set when the opening handshake is over, opened or not.
        self.handshake_over = anyio.Event()
        #: Set when the connection stops being open (either side's close frame, TCP ending):
        #: pauses and waits for a release end then, so a script's lifecycle runs at once.
        self.not_open = anyio.Event()
        #: Set when the script has done all it can do without the test: it returned, or waits
        #: at wait_for_release (replaced by a new event when the release comes).
        self.script_idle = anyio.Event()

    # -- what the connection does ---------------------------------------------------------------

    def adopt(self, behaviour: Behaviour) -> None:
        """Take on what the host chose for this connection."""
        self.chosen = True
        self.outcome = behaviour.outcome
        self.handler = behaviour.handler
        self.prepare = behaviour.prepare
        self.release = behaviour.release
        self.steps = behaviour.steps
        self.rules = list(behaviour.rules)
        self.route = behaviour.route

    def choose(self, request: Request | None) -> None:
        """Ask the host what this connection does (once; the host lists the connection)."""
        if not self.chosen and not self.plain_http:
            self.adopt(self.host.behaviour(self.record, request))

    async def wind_up(self) -> None:
        """The connection's last act, shielded from cancellation: TCP closed, the record final,
        then the behaviour's ``release`` (which bounds its own waits)."""
        with anyio.CancelScope(shield=True):
            await self.act(self.machine.server_ends_tcp())
            self.handshake_over.set()
            self.reader_ended.set()
            self.finish()
            release, self.release = self.release, None
            if release is not None:
                try:
                    await release()
                except Exception as exc:  # a bug of ours must fail the test, not vanish
                    self.host.error(f"release on {self.record.label}", exc)

    # -- Link: what the WebSocket reads ---------------------------------------------------------

    @property
    def default_timeout(self) -> float:
        return self.options.timeout

    @property
    def compression(self) -> bool:
        return self.deflate is not None

    @property
    def client_close(self) -> tuple[int | None, str] | None:
        return self.machine.client_close

    @property
    def is_open(self) -> bool:
        return self.machine.open

    @property
    def excused(self) -> bool:
        return self.machine.excused

    def note(self, text: str) -> None:
        self.record.note(text)

    def finish(self) -> None:
        """Write how the connection ended: the record is final (once; later calls do nothing)."""
        if self.ended.is_set():
            return
        self.ended.set()
        # Ended before a complete request (teardown, say): still a connection, listed.
        self.choose(None)
        violation = self.pings.unanswered()
        if violation is not None:
            self.record.violation(violation)
        if self.unparsed:
            self.note(
                f"{self.unparsed} byte(s) the client sent were read but not parsed (after a "
                f"framing error, a rejected handshake, or an outcome that answers nothing)"
            )
        self.inbox.close()
        self.controls.close()
        m = self.machine
        client = m.client_close or (None, "")
        server = m.server_close or (None, "")
        self.record.finish(
            CloseInfo(
                initiator=m.initiator,
                client_sent=m.client_close is not None,
                client_code=client[0],
                client_reason=client[1],
                server_sent=m.server_close is not None,
                server_code=server[0],
                server_reason=server[1],
                tcp_closed_by=m.tcp_closed_by or Direction.SERVER,
                tcp_end="rst" if m.tcp_rst else "fin",
            )
        )

    # -- carrying out the state machine's actions -----------------------------------------------

    async def act(self, outcome: Outcome) -> None:
        """Do what the state machine decided, in order."""
        if outcome.before is State.OPEN and outcome.state is not State.OPEN:
            self.not_open.set()
        for action in outcome.held:
            self._note_held(action)
        for action in outcome.actions:
            if action is Action.STOP_INPUT:
                self.inbox.close()
                self.controls.close()
            elif action is Action.REPLY_CLOSE:
                # RFC 6455 section 5.5.1: answer with a close frame, echoing the status code.
                code = self.machine.client_close[0] if self.machine.client_close else None
                reason = ""
                if self.machine.reply is not None:
                    # The client's close frame broke a rule: answer with the rule's code
                    # rather than echo an invalid one (RFC 6455 section 7.1.7).
                    code, reason = self.machine.reply
                payload = build_close_payload(code, reason)
                with contextlib.suppress(ConnectionClosed):
                    await self.send_frames([OutFrame(Opcode.CLOSE, payload)])
            elif action is Action.SHUTDOWN:
                await self._shutdown()
            elif action is Action.DEADLINE:
                self.read_scope.deadline = anyio.current_time() + self.options.close_timeout
                self.machine.grace_deadline = False
            elif action is Action.GRACE:
                self.end_after_grace()
            elif action is Action.ABORT:
                await self._close_socket()
            elif action is Action.CHECK_CLOSING:
                self._check_closing(outcome.before)
            elif action is Action.NO_CLOSE_REPLY:
                self.record.violation(
                    client_rule(
                        "no-close-reply",
                        f"the client did not answer the server's close frame within "
                        f"{self.options.close_timeout} s (close_timeout)",
                        "RFC 6455 section 5.5.1",
                    )
                )

    def _note_held(self, action: Action) -> None:
        if action is Action.REPLY_CLOSE:
            self.note("fault no-close-reply: took the client's close frame, answered nothing")
        elif action is Action.SHUTDOWN:
            self.note("fault close-frame-only: got the client's close frame, kept TCP open")

    def _check_closing(self, before: State) -> None:
        """The client ended TCP without the closing handshake (RFC 6455 sections 5.5.1 and
        7.1.1): the peer sees an abnormal closure (1006)."""
        if self.machine.client_close is not None:
            return
        how = "RST" if self.machine.tcp_rst else "FIN"
        if before is State.OPEN:
            detail = f"the client closed TCP ({how}) without sending a close frame"
        else:
            detail = f"the client closed TCP ({how}) instead of answering the server's close frame"
        self.record.violation(
            client_rule("no-closing-handshake", detail, "RFC 6455 sections 5.5.1 and 7.1.1")
        )

    async def _shutdown(self) -> None:
        """Send our FIN after every queued byte; the reader runs on until the client's FIN."""
        # A FIN already waiting when the client's close frame was read came before the client
        # could have seen our answer; one that comes after our answer is fair play, so look
        # again only when there was no such moment. (Best effort: a FIN sent right behind the
        # close frame may still be in flight at the first look; see docs/records.md.)
        seen = self.machine.client_fin_seen
        fin_first = seen if seen is not None else self.peer_fin_pending()
        self.machine.server_fin_sent(client_fin_first=fin_first)
        owner = self.write_lock.statistics().owner
        if owner is not None and owner.id != anyio.get_current_task().id:
            # Another task is in the middle of a frame (our close frame, say, on a stream whose
            # send yields between pieces): the FIN must come after its last byte, not cut it.
            # That write is bounded by the timeout option, so this wait is too.
            async with self.write_lock:
                pass
        with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            # On the TCP stream, under TLS too: TLS 1.2 streams refuse send_eof, and we do not
            # send close_notify (clients are told so by standard_compatible=False).
            await self.socket_stream.send_eof()

    def peer_fin_pending(self) -> bool:
        """Whether the client has closed its side: a non-blocking peek that reads end of file.

        Under TLS a closing client sends close_notify before its FIN, so after its close frame
        any pending bytes mean the same thing.
        """
        try:
            stream = self.socket_stream
            if isinstance(stream, FastSocketStream):
                pending = stream.peek()  # no descriptor to duplicate: one syscall
            else:
                fileno = stream.extra(SocketAttribute.raw_socket).fileno()
                # asyncio wraps its sockets in a TransportSocket that cannot recv(): peek
                # through a duplicate of the descriptor.
                with socket.socket(fileno=os.dup(fileno)) as peek:
                    pending = peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            return pending == b"" or (self.machine.client_close is not None and self.options.tls)
        except (OSError, anyio.TypedAttributeLookupError):
            return False  # nothing to read yet (BlockingIOError), or reset, or no socket

    async def _close_socket(self) -> None:
        if not self.reader_ended.is_set():
            # (Cancelling a scope costs anyio a repr of the task, even when it has ended.)
            self.read_scope.cancel()
        self.inbox.close()
        self.controls.close()
        with (
            anyio.CancelScope(shield=True),
            contextlib.suppress(OSError, anyio.BrokenResourceError),
        ):
            await self.stream.aclose()

    def end_after_grace(self) -> None:
        """After a deliberate violation: give the client ``violation_grace`` seconds to fail the
        connection (or answer), then close TCP, since some clients never do (CLIENTS.md)."""
        if self.machine.state in (State.OPEN, State.CLOSE_SENT):
            deadline = anyio.current_time() + self.options.violation_grace
            if deadline < self.read_scope.deadline:
                self.read_scope.deadline = deadline
                self.machine.grace_deadline = True

    async def send_frames(self, frames: Sequence[OutFrame], *, deliberate: bool = False) -> None:
        """Write frames in order (the engine implements it; the close reply needs it here)."""
        raise NotImplementedError
