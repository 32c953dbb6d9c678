"""The life of one connection, from the server's side, as data: states, events, actions.

Theory of operation (the shape is h11's ``_state.py``). A connection is in exactly one
`State`. Things happen to it (`StateEvent`): the server answered the handshake, wrote a close frame,
read the client's close frame, read the client's FIN, was reset, gave up waiting. The table
`TRANSITIONS` says, for each (state, event), the next state and the `Action` values the I/O
layer must carry out, in order: answer the client's close, send our FIN, bound what is left by
``close_timeout``, close the socket, stop handing messages to the handler. The engine never
decides any of that itself; it asks `ConnectionState.handle` and does what comes back.

Two things bend the table without special cases:

* Transport faults that change how the server closes (``no-close-reply``,
  ``close-frame-only``) *hold* actions: `ConnectionState.hold` removes them from every later
  answer, and each held action is reported back (`Outcome.held`) so the engine can note it.
* A deliberate protocol break by the server (a frame violation, a broken handshake answer, a
  fault) *excuses* the client from the closing handshake (`ConnectionState.excused`): a
  compliant client fails such a connection by dropping TCP, so that is not held against it.

Close bookkeeping lives here too (who closed first, both close frames, who closed TCP and
how), so the record of how a connection ended is derived from one object.

RFC 6455 rules behind the table: after sending a close frame an endpoint sends no more data
(section 5.5.1); an endpoint that receives a close frame answers with one (5.5.1); the server
closes TCP first once both close frames passed (7.1.1); a connection whose TCP ends without the
closing handshake is closed abnormally, 1006 (7.1.5).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "TRANSITIONS",
    "Action",
    "ConnectionState",
    "Direction",
    "StateEvent",
    "Outcome",
    "State",
    "StateError",
]


class Direction(str, enum.Enum):
    """Who sent a frame or a message, or did something to the connection."""

    #: from the client under test to the mock server
    CLIENT = "client"
    #: from the mock server to the client under test
    SERVER = "server"

    def __str__(self) -> str:
        return self.value


class State(enum.Enum):
    """Where a connection is in its life."""

    #: reading the request and carrying out the handshake outcome
    HANDSHAKE = "handshake"
    #: frames flow both ways
    OPEN = "open"
    #: the client's close frame came and the server has not answered it yet
    CLOSE_RECEIVED = "close-received"
    #: the server sent a close frame and waits for the client's (close_timeout)
    CLOSE_SENT = "close-sent"
    #: the server is done sending (its FIN is out, unless a fault holds it) and reads until
    #: the client's FIN (close_timeout)
    DRAINING = "draining"
    #: the socket is closed on the server's side; the record is final
    CLOSED = "closed"


class StateEvent(enum.Enum):
    """What happens to a connection."""

    #: the server wrote ``101 Switching Protocols``
    OPENED = "opened"
    #: the opening handshake ended without a 101 (an HTTP error, a fault, no answer)
    REFUSED = "refused"
    #: the server is about to write a close frame (any close frame, valid or not)
    SEND_CLOSE = "send-close"
    #: the client's close frame was read
    RECEIVE_CLOSE = "receive-close"
    #: the client closed its side of TCP (FIN)
    CLIENT_EOF = "client-eof"
    #: the client reset TCP, or a write found it gone
    CLIENT_RESET = "client-reset"
    #: the server shuts down its side of TCP now, and keeps reading (fault half-close)
    HALF_CLOSE = "half-close"
    #: the server closes the socket now (faults drop and reset, the deadline, teardown)
    ABORT = "abort"
    #: the server broke the protocol on purpose: the client may now drop TCP
    BREAK = "break"
    #: the deadline set by the last ``DEADLINE`` or ``GRACE`` action passed
    TIMEOUT = "timeout"


class Action(enum.Enum):
    """What the I/O layer must do, in the order given."""

    #: no more messages or control frames for the handler or script
    STOP_INPUT = "stop-input"
    #: write a close frame answering the client's (RFC 6455 section 5.5.1)
    REPLY_CLOSE = "reply-close"
    #: send our FIN after every queued byte, and read on until the client's
    SHUTDOWN = "shutdown"
    #: bound what is left of the connection by close_timeout
    DEADLINE = "deadline"
    #: bound what is left by violation_grace (the client may never fail the connection)
    GRACE = "grace"
    #: close the socket
    ABORT = "abort"
    #: the client ended TCP without the closing handshake: a violation unless excused
    CHECK_CLOSING = "check-closing"
    #: the client never answered our close frame: a violation unless excused
    NO_CLOSE_REPLY = "no-close-reply"


class StateError(Exception):
    """Internal: an event that cannot happen in the current state (a bug of the engine)."""


S, E, A = State, StateEvent, Action

#: (state, event) -> (next state, actions). A pair that is not here cannot happen; `CLOSED`
#: ignores every event.
TRANSITIONS: dict[tuple[State, StateEvent], tuple[State, tuple[Action, ...]]] = {
    # The opening handshake.
    (S.HANDSHAKE, E.OPENED): (S.OPEN, ()),
    (S.HANDSHAKE, E.REFUSED): (S.DRAINING, (A.STOP_INPUT, A.SHUTDOWN, A.DEADLINE)),
    (S.HANDSHAKE, E.HALF_CLOSE): (S.DRAINING, (A.STOP_INPUT, A.SHUTDOWN, A.DEADLINE)),
    (S.HANDSHAKE, E.CLIENT_EOF): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    (S.HANDSHAKE, E.CLIENT_RESET): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    (S.HANDSHAKE, E.ABORT): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    (S.HANDSHAKE, E.TIMEOUT): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    (S.HANDSHAKE, E.BREAK): (S.HANDSHAKE, ()),
    # Open.
    (S.OPEN, E.SEND_CLOSE): (S.CLOSE_SENT, (A.DEADLINE,)),
    (S.OPEN, E.RECEIVE_CLOSE): (S.CLOSE_RECEIVED, (A.STOP_INPUT, A.REPLY_CLOSE)),
    (S.OPEN, E.CLIENT_EOF): (S.CLOSED, (A.STOP_INPUT, A.CHECK_CLOSING, A.ABORT)),
    (S.OPEN, E.CLIENT_RESET): (S.CLOSED, (A.STOP_INPUT, A.CHECK_CLOSING, A.ABORT)),
    (S.OPEN, E.HALF_CLOSE): (S.DRAINING, (A.STOP_INPUT, A.SHUTDOWN)),
    (S.OPEN, E.ABORT): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    (S.OPEN, E.BREAK): (S.OPEN, ()),
    (S.OPEN, E.TIMEOUT): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    # The client closed first; our answer is due (a fault may hold it).
    (S.CLOSE_RECEIVED, E.SEND_CLOSE): (S.DRAINING, (A.SHUTDOWN, A.DEADLINE)),
    (S.CLOSE_RECEIVED, E.CLIENT_EOF): (S.CLOSED, (A.ABORT,)),
    (S.CLOSE_RECEIVED, E.CLIENT_RESET): (S.CLOSED, (A.ABORT,)),
    (S.CLOSE_RECEIVED, E.HALF_CLOSE): (S.DRAINING, (A.SHUTDOWN,)),
    (S.CLOSE_RECEIVED, E.ABORT): (S.CLOSED, (A.ABORT,)),
    (S.CLOSE_RECEIVED, E.BREAK): (S.CLOSE_RECEIVED, ()),
    (S.CLOSE_RECEIVED, E.TIMEOUT): (S.CLOSED, (A.ABORT,)),
    # The server closed first and waits for the client's answer.
    (S.CLOSE_SENT, E.RECEIVE_CLOSE): (S.DRAINING, (A.STOP_INPUT, A.SHUTDOWN, A.DEADLINE)),
    (S.CLOSE_SENT, E.CLIENT_EOF): (S.CLOSED, (A.STOP_INPUT, A.CHECK_CLOSING, A.ABORT)),
    (S.CLOSE_SENT, E.CLIENT_RESET): (S.CLOSED, (A.STOP_INPUT, A.CHECK_CLOSING, A.ABORT)),
    (S.CLOSE_SENT, E.HALF_CLOSE): (S.DRAINING, (A.STOP_INPUT, A.SHUTDOWN)),
    (S.CLOSE_SENT, E.ABORT): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    (S.CLOSE_SENT, E.BREAK): (S.CLOSE_SENT, ()),
    (S.CLOSE_SENT, E.TIMEOUT): (S.CLOSED, (A.STOP_INPUT, A.NO_CLOSE_REPLY, A.ABORT)),
    # Our side is done; reading until the client's FIN.
    (S.DRAINING, E.RECEIVE_CLOSE): (S.DRAINING, (A.STOP_INPUT,)),
    (S.DRAINING, E.CLIENT_EOF): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    (S.DRAINING, E.CLIENT_RESET): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    (S.DRAINING, E.HALF_CLOSE): (S.DRAINING, ()),
    (S.DRAINING, E.ABORT): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
    (S.DRAINING, E.BREAK): (S.DRAINING, ()),
    (S.DRAINING, E.TIMEOUT): (S.CLOSED, (A.STOP_INPUT, A.ABORT)),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What `ConnectionState.handle` decided.

    Attributes:
        before: the state the event found.
        state: the state after it.
        actions: what the I/O layer must now do, in order.
        held: actions the table asked for that a fault holds (the engine notes them).
    """

    before: State
    state: State
    actions: tuple[Action, ...]
    held: tuple[Action, ...] = ()


@dataclass
class ConnectionState:
    """The whole state of one connection: where it is, and how its closing went.

    Attributes:
        state: the current `State`.
        initiator: who sent the first close frame.
        client_close: ``(code, reason)`` of the client's close frame, once read.
        server_close: ``(code, reason)`` of the server's close frame, once written.
        tcp_closed_by: who ended TCP first, once someone did.
        tcp_rst: whether TCP ended with a reset rather than a FIN.
        excused: the server broke the protocol on purpose, so the client is no longer held to
            the closing handshake.
        hold: actions that faults hold from now on (see the module docstring).
        write_delay: seconds every write waits first (fault delay-writes).
        write_chunks: ``(bytes per write, seconds between writes)`` (fault throttle).
        split_interval: seconds between a frame's header and its payload (fault split-frames).
        client_fin_seen: whether the client's FIN was already waiting when its close frame was
            read (then the client ended TCP first, whatever our reply does); ``None``: look.
        reply: the close code and reason that answer a client close frame that broke a rule
            (instead of echoing its invalid code).
        grace_deadline: whether the deadline in force is violation_grace's (else
            close_timeout's).
        over_budget: the record went over max_record_size; the rest is only counted.
        write_stalled: a write gave up because the client did not read.
        input_frozen: the server no longer looks at what the client sends (fault
            close-then-drop): bytes are counted, not parsed, and the end of the client's
            stream changes nothing, so the fault's outcome does not depend on timing.
    """

    state: State = State.HANDSHAKE
    initiator: Direction | None = None
    client_close: tuple[int | None, str] | None = None
    server_close: tuple[int | None, str] | None = None
    tcp_closed_by: Direction | None = None
    tcp_rst: bool = False
    excused: bool = False
    hold: frozenset[Action] = field(default_factory=frozenset)
    write_delay: float = 0.0
    write_chunks: tuple[int, float] | None = None
    split_interval: float | None = None
    client_fin_seen: bool | None = None
    reply: tuple[int, str] | None = None
    grace_deadline: bool = False
    over_budget: bool = False
    write_stalled: bool = False
    input_frozen: bool = False

    # -- questions ----------------------------------------------------------------------------

    def may_send(self, *, close: bool = False) -> bool:
        """Whether the server may write a frame now: any frame while open; after the client's
        close frame only the close frame answering it; nothing after our own close frame
        (RFC 6455 section 5.5.1) or once our side of TCP is closed."""
        if self.state is State.OPEN:
            return True
        return close and self.state is State.CLOSE_RECEIVED

    @property
    def open(self) -> bool:
        """Whether data frames may still flow both ways."""
        return self.state is State.OPEN

    @property
    def ended(self) -> bool:
        """Whether the socket is closed on the server's side."""
        return self.state is State.CLOSED

    # -- events -------------------------------------------------------------------------------

    def handle(self, event: StateEvent) -> Outcome:
        """Apply ``event``; return the next state and the actions to carry out.

        Raises:
            StateError: the event cannot happen in this state (an engine bug).
        """
        before = self.state
        if before is State.CLOSED:
            return Outcome(before, before, ())
        try:
            after, actions = TRANSITIONS[before, event]
        except KeyError:
            raise StateError(f"event {event.value} cannot happen in state {before.value}") from None
        self.state = after
        held = tuple(a for a in actions if a in self.hold)
        if held:
            actions = tuple(a for a in actions if a not in self.hold)
        if self.excused:
            # A client that drops TCP after a deliberate break does right (see module doc).
            actions = tuple(a for a in actions if a not in _EXCUSED)
        if self.tcp_closed_by is None and Action.ABORT in actions:
            # The server closes the socket and nobody ended TCP before: the server did.
            self.tcp_closed_by = Direction.SERVER
        return Outcome(before, after, actions, held)

    def send_close(self, code: int | None, reason: str) -> Outcome:
        """The server is about to write a close frame with this code and reason."""
        if not self.may_send(close=True):
            raise StateError(f"no close frame may be sent in state {self.state.value}")
        self.server_close = (code, reason)
        if self.initiator is None:
            self.initiator = Direction.SERVER
        return self.handle(StateEvent.SEND_CLOSE)

    def receive_close(self, code: int | None, reason: str) -> Outcome:
        """The client's close frame was read (only the first one counts)."""
        if self.client_close is not None or self.state is State.CLOSED:
            return Outcome(self.state, self.state, ())
        self.client_close = (code, reason)
        if self.initiator is None:
            self.initiator = Direction.CLIENT
        return self.handle(StateEvent.RECEIVE_CLOSE)

    def client_ended_tcp(self, *, reset: bool) -> Outcome:
        """The client closed TCP (FIN) or reset it."""
        if self.state is State.CLOSED:
            # Our own socket is closed: what the read reports now is not the client's doing.
            return Outcome(self.state, self.state, ())
        if self.tcp_closed_by is None:
            self.tcp_closed_by = Direction.CLIENT
            self.tcp_rst = reset
        elif reset:
            # Our FIN went out first, then the client reset the connection.
            self.tcp_rst = True
        return self.handle(StateEvent.CLIENT_RESET if reset else StateEvent.CLIENT_EOF)

    def server_ends_tcp(self, *, reset: bool = False) -> Outcome:
        """The server closes the socket now (with an RST when ``reset``)."""
        if self.tcp_closed_by is None:
            self.tcp_closed_by = Direction.SERVER
            self.tcp_rst = reset
        return self.handle(StateEvent.ABORT)

    def server_fin_sent(self, *, client_fin_first: bool) -> None:
        """Our FIN went out (the `Action.SHUTDOWN`); ``client_fin_first``: the client's FIN
        was already waiting unread, so the client ended TCP first."""
        if self.tcp_closed_by is None:
            self.tcp_closed_by = Direction.CLIENT if client_fin_first else Direction.SERVER

    def deliberate_break(self) -> Outcome:
        """The server broke the protocol on purpose (see ``excused``)."""
        self.excused = True
        return self.handle(StateEvent.BREAK)

    def hold_actions(self, *actions: Action) -> None:
        """Hold these actions from now on (a transport fault changes how the server closes)."""
        self.hold = self.hold | frozenset(actions)


#: Actions that hold the client to the closing handshake; dropped once it is excused.
_EXCUSED = frozenset({Action.CHECK_CLOSING, Action.NO_CLOSE_REPLY})
