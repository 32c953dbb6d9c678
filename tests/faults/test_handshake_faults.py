"""Transport faults given as handshake outcomes."""

from __future__ import annotations

import time

import pytest
import websockets
import websockets.sync.client

from pytest_wsmock import ConfigError, Fault, MockServer

TIMEOUT = 2.0


def test_reset_as_a_handshake_outcome(ws_server: MockServer) -> None:
    """Fault.reset() as an outcome resets TCP after the request: the client never opens."""
    ws_server.handshake(Fault.reset())
    with pytest.raises((websockets.InvalidMessage, ConnectionResetError)):
        websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT)
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    info = conn.wait_closed(timeout=TIMEOUT)
    assert conn.response is None
    assert conn.handshake is not None
    assert conn.handshake.id == "fault-reset"
    assert info.tcp_end == "rst"


def test_stall_as_a_handshake_outcome_answers_late(ws_server: MockServer) -> None:
    """Fault.stall(s) as an outcome answers the handshake s seconds late, then works."""
    ws_server.handshake(Fault.stall(0.3))
    started = time.monotonic()
    with websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT) as ws:
        opened = time.monotonic() - started
        ws.send("late but fine")
    assert opened >= 0.3
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert conn.received_texts == ["late but fine"]


def test_throttle_as_a_handshake_outcome_trickles_the_response(ws_server: MockServer) -> None:
    """Fault.throttle as an outcome writes the 101 a few bytes at a time; clients cope."""
    ws_server.handshake(Fault.throttle(7, 0.001))
    with websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT) as ws:
        ws.send("ok")
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    assert conn.accepted
    assert conn.handshake is not None
    assert conn.handshake.chunk_size == 7


@pytest.mark.parametrize("fault", [Fault.no_close_reply(), Fault.split_frames()], ids=str)
def test_faults_without_meaning_before_open_are_refused(
    ws_server: MockServer, fault: Fault
) -> None:
    """A fault that needs an open connection is a ConfigError as a handshake outcome."""
    with pytest.raises(ConfigError, match="no meaning during the opening handshake"):
        ws_server.handshake(fault)


@pytest.mark.wsmock(handshake=Fault.drop())
def test_a_fault_in_the_marker(ws_server: MockServer) -> None:
    """The marker's handshake option takes a fault too."""
    with pytest.raises((websockets.InvalidMessage, ConnectionError, EOFError)):
        websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT)
    assert ws_server.options.handshake[0].id == "fault-drop"
