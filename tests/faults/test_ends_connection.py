"""``Fault.ends_connection`` says what a real client sees, and ``Fault.stall()`` without a
duration holds the connection until it ends, without failing the test."""

from __future__ import annotations

import pytest
import websocket
import websockets
import websockets.sync.client

from pytest_wsmock import TRANSPORT_FAULTS, Fault, MockServer, send_text

from ..plugin._support import write_ini

TIMEOUT = 5.0


def ended_for_websockets(server: MockServer) -> bool:
    """websockets' sync client reads until "after" comes (False) or the connection ends (True).
    It never closes on its own meanwhile."""
    with websockets.sync.client.connect(server.url, open_timeout=TIMEOUT, close_timeout=1) as ws:
        assert ws.recv(timeout=TIMEOUT) == "before"
        try:
            assert ws.recv(timeout=TIMEOUT) == "after"
        except websockets.ConnectionClosed:
            return True
        except TimeoutError:
            # websockets waits for the server to close TCP after the closing handshake; the
            # server's close frame came and was answered all the same.
            assert ws.protocol.close_rcvd is not None, "neither 'after' nor an end came"
            return True
        return False


def ended_for_websocket_client(server: MockServer) -> bool:
    """The same with websocket-client, which reports the end as an exception or a close frame."""
    ws = websocket.create_connection(server.url, timeout=TIMEOUT)
    try:
        assert ws.recv() == "before"
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return True
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return True
        assert data == b"after"
        return False
    finally:
        ws.close(timeout=1)
        # After a close frame it has answered, close() leaves the socket open: close it.
        ws.shutdown()  # type: ignore[no-untyped-call]


CLIENTS = {"websockets": ended_for_websockets, "websocket-client": ended_for_websocket_client}


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize(
    "fault",
    [
        # websockets waits out its close timeout on close-frame-only: the slow group's.
        pytest.param(fault, marks=pytest.mark.slow) if fault.id == "close-frame-only" else fault
        for fault in TRANSPORT_FAULTS
    ],
    ids=[fault.id for fault in TRANSPORT_FAULTS],
)
def test_ends_connection_is_what_the_client_sees(
    ws_server: MockServer, fault: Fault, client: str
) -> None:
    """Between a message before the fault and one after it, the client sees the connection
    end exactly when ``fault.ends_connection`` says so; the record agrees."""
    ws_server.script(send_text("before"), fault, send_text("after"))
    ended = CLIENTS[client](ws_server)
    conn = ws_server.wait_for_connection(0)
    conn.wait_closed()
    assert ended is fault.ends_connection, f"{fault.id}: the client saw ended={ended}"
    after_sent = [m.text for m in conn.sent] == ["before", "after"]
    assert after_sent is not fault.ends_connection


def test_every_fault_says_whether_it_ends_the_connection() -> None:
    assert {fault.id: fault.ends_connection for fault in TRANSPORT_FAULTS} == {
        "drop": True,
        "reset": True,
        "half-close": True,
        "close-then-drop": True,
        "close-frame-only": True,
        "no-close-reply": False,
        "stall": False,
        "stop-reading": False,
        "delay-writes": False,
        "throttle": False,
        "split-frames": False,
    }


def test_stall_without_a_duration() -> None:
    fault = Fault.stall()
    assert fault.seconds is None
    assert fault.description == "neither reads nor writes until the connection ends"
    assert not fault.ends_connection
    # During the opening handshake: the server never answers.
    assert fault.as_handshake().id == "fault-stall"
    assert fault.as_handshake().description == "never answers the handshake"


STALL_TEST = """
import websockets
import websockets.sync.client

from pytest_wsmock import Fault, send_text


def test_stalled(ws_server):
    ws_server.script(send_text("hi"), Fault.stall(), send_text("never"))
    with websockets.sync.client.connect(ws_server.url, open_timeout=5, close_timeout=0.5) as ws:
        assert ws.recv(timeout=5) == "hi"
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)
    conn = ws_server.wait_for_connection(0)
    assert [m.text for m in conn.sent] == ["hi"]
    assert not conn.closed  # the server holds it: it reads nothing, not even the close
"""


def test_stall_without_a_duration_holds_until_the_end_without_an_error(
    pytester: pytest.Pytester,
) -> None:
    """The stall lasts until the test ends; teardown ends it, and nothing fails."""
    write_ini(pytester)
    pytester.makepyfile("import pytest\n" + STALL_TEST)
    result = pytester.runpytest("--wsmock-transcript")
    result.assert_outcomes(passed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*fault stall fired at *: the server neither reads nor writes until the connection "
            "ends*",
            "*script step 2 of 3, Fault.stall: still running when the test ended*",
        ]
    )
