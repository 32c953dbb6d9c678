"""The connection state machine alone, without sockets: its table and its bookkeeping."""

from __future__ import annotations

import pytest

from pytest_wsmock._protocol import (
    TRANSITIONS,
    Action,
    ConnectionState,
    Direction,
    State,
    StateError,
    StateEvent,
)


def _open() -> ConnectionState:
    machine = ConnectionState()
    machine.handle(StateEvent.OPENED)
    return machine


def test_every_state_but_closed_answers_every_teardown_event() -> None:
    """Abort, timeout and both TCP ends are defined in every live state: nothing can hang."""
    for state in State:
        if state is State.CLOSED:
            continue
        for event in (
            StateEvent.ABORT,
            StateEvent.TIMEOUT,
            StateEvent.CLIENT_EOF,
            StateEvent.CLIENT_RESET,
        ):
            assert (state, event) in TRANSITIONS, (state, event)


def test_every_path_ends_closed_with_the_socket_closed() -> None:
    """Each transition into CLOSED tells the engine to close the socket."""
    for (_, _), (after, actions) in TRANSITIONS.items():
        if after is State.CLOSED:
            assert Action.ABORT in actions


def test_server_close_then_client_reply_shuts_down_tcp_first() -> None:
    """Server-initiated closing handshake: deadline, then FIN after the reply (RFC 6455 7.1.1)."""
    machine = _open()
    assert machine.send_close(1000, "bye").actions == (Action.DEADLINE,)
    assert machine.state is State.CLOSE_SENT
    outcome = machine.receive_close(1000, "")
    assert outcome.actions == (Action.STOP_INPUT, Action.SHUTDOWN, Action.DEADLINE)
    assert machine.initiator is Direction.SERVER
    machine.server_fin_sent(client_fin_first=False)
    assert machine.tcp_closed_by is Direction.SERVER


def test_client_close_is_answered_once() -> None:
    """The client's close frame asks for one close frame in reply, then our FIN."""
    machine = _open()
    assert machine.receive_close(1001, "away").actions == (Action.STOP_INPUT, Action.REPLY_CLOSE)
    assert machine.may_send(close=True)
    assert not machine.may_send()
    assert machine.send_close(1001, "").actions == (Action.SHUTDOWN, Action.DEADLINE)
    assert machine.initiator is Direction.CLIENT
    assert machine.client_close == (1001, "away")
    assert machine.receive_close(1000, "again").actions == ()


def test_nothing_is_sent_after_our_close_frame() -> None:
    """After the server's close frame no frame may follow (RFC 6455 section 5.5.1)."""
    machine = _open()
    machine.send_close(1000, "")
    assert not machine.may_send()
    assert not machine.may_send(close=True)
    with pytest.raises(StateError):
        machine.send_close(1000, "")


def test_client_fin_without_close_is_checked_unless_excused() -> None:
    """A FIN without a closing handshake is a violation, except after a deliberate break."""
    machine = _open()
    assert Action.CHECK_CLOSING in machine.client_ended_tcp(reset=False).actions
    assert machine.tcp_closed_by is Direction.CLIENT
    assert not machine.tcp_rst
    machine = _open()
    assert machine.deliberate_break().actions == ()
    assert Action.CHECK_CLOSING not in machine.client_ended_tcp(reset=True).actions
    assert machine.tcp_rst


def test_unanswered_close_times_out_as_a_violation() -> None:
    """No reply to our close within close_timeout: the socket closes, the client is blamed."""
    machine = _open()
    machine.send_close(1000, "")
    outcome = machine.handle(StateEvent.TIMEOUT)
    assert outcome.actions == (Action.STOP_INPUT, Action.NO_CLOSE_REPLY, Action.ABORT)
    assert machine.tcp_closed_by is Direction.SERVER
    assert machine.ended


def test_a_fault_holds_the_close_reply() -> None:
    """Fault no-close-reply: the reply is held and reported, the state waits for TCP."""
    machine = _open()
    machine.hold_actions(Action.REPLY_CLOSE)
    outcome = machine.receive_close(1000, "")
    assert outcome.actions == (Action.STOP_INPUT,)
    assert outcome.held == (Action.REPLY_CLOSE,)
    assert machine.state is State.CLOSE_RECEIVED
    assert machine.client_ended_tcp(reset=False).actions == (Action.ABORT,)
    assert machine.tcp_closed_by is Direction.CLIENT


def test_our_fin_then_client_reset_is_recorded_as_reset() -> None:
    """The client resetting after our FIN turns an orderly end into a reset."""
    machine = _open()
    machine.receive_close(1000, "")
    machine.send_close(1000, "")
    machine.server_fin_sent(client_fin_first=False)
    machine.client_ended_tcp(reset=True)
    assert machine.tcp_closed_by is Direction.SERVER
    assert machine.tcp_rst


def test_refused_handshake_drains_and_closed_ignores_everything() -> None:
    """A handshake without 101 shuts down and drains; a closed connection takes no events."""
    machine = ConnectionState()
    assert machine.handle(StateEvent.REFUSED).actions == (
        Action.STOP_INPUT,
        Action.SHUTDOWN,
        Action.DEADLINE,
    )
    machine.client_ended_tcp(reset=False)
    assert machine.ended
    assert machine.handle(StateEvent.OPENED).actions == ()


def test_impossible_event_is_an_engine_bug() -> None:
    """An event the table does not allow raises, naming the state."""
    with pytest.raises(StateError, match="handshake"):
        ConnectionState().handle(StateEvent.SEND_CLOSE)
