"""A script's verdict: never timing-dependent, never charged to connections it did not run on,
never an unfinished script when a fault outlives the test, and no data after the mock's close."""

from __future__ import annotations

import pytest
import websockets.sync.client
from websockets.exceptions import InvalidStatus

from pytest_wsmock import Direction, Fault, Handshake, MockServer, send_text

from ..plugin._support import HELD_SOCKETS, RAW_CLIENT, write_ini
from ..scripts._support import sync_client

HEADER = """
import time

import pytest
import websockets.exceptions
import websockets.sync.client

from pytest_wsmock import Fault, Handshake, expect_text, send_text


def connect(url):
    return websockets.sync.client.connect(
        url, open_timeout=5, close_timeout=5, ping_interval=None, proxy=None, compression=None
    )
"""

RACE = """
@pytest.mark.parametrize("n", range({count}))
@pytest.mark.wsmock(backend="{backend}")
def test_race(ws_server, n):
    ws_server.script(expect_text("q"), send_text("next"), send_text("complete"))
    with connect(ws_server.url) as ws:
        ws.send("q")
        assert ws.recv(timeout=5) == "next"
    # The client closed at once: "complete" may or may not have left before its close frame.
"""


def run_inner(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    """Run ``body`` (after the common imports) as an inner test file."""
    write_ini(pytester)
    pytester.makepyfile(test_inner=HEADER + body)
    return pytester.runpytest("-p", "no:randomly", "-q")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("count", [20, pytest.param(200, marks=pytest.mark.slow, id="200-slow")])
def test_send_steps_racing_the_clients_close_never_fail(
    pytester: pytest.Pytester, backend: str, count: int
) -> None:
    """A client closing while send steps still run never fails teardown, on either backend."""
    result = run_inner(pytester, RACE.format(count=count, backend=backend))
    result.assert_outcomes(passed=count)


def test_rejected_attempt_is_not_charged_with_the_script(pytester: pytest.Pytester) -> None:
    """A 503-rejected first attempt runs no script; the retry gets it; teardown passes."""
    result = run_inner(
        pytester,
        """
def test_retry(ws_server):
    ws_server.handshake(Handshake.reject(503), Handshake.accept())
    ws_server.script(send_text("welcome"))
    with pytest.raises(websockets.exceptions.InvalidStatus):
        connect(ws_server.url)
    with connect(ws_server.url) as ws:
        assert ws.recv(timeout=5) == "welcome"
    ws_server.wait_for_connection(1).wait_closed()
    assert ws_server.connections[0].response.status == 503
    assert ws_server.connections[0].script is None
    assert ws_server.connections[1].script.done
""",
    )
    result.assert_outcomes(passed=1)


def test_fault_still_running_at_teardown_is_not_an_unfinished_script(
    pytester: pytest.Pytester,
) -> None:
    """A Fault.stall(5) last step still running when the test ends does not fail teardown."""
    result = run_inner(
        pytester,
        RAW_CLIENT
        + HELD_SOCKETS
        + """

def test_stall(sockets, ws_server):
    ws_server.script(send_text("hi"), Fault.stall(5))
    sock = raw_handshake(ws_server.host, ws_server.port)
    sockets.append(sock)
    conn = ws_server.wait_for_connection()
    # "hi" is sent (the record is written before the bytes leave): the stall comes next.
    deadline = time.monotonic() + 5
    while not conn.sent:
        assert time.monotonic() < deadline, conn.describe()
        time.sleep(0.01)
    assert not conn.closed
""",
    )
    result.assert_outcomes(passed=1)


def test_no_data_after_the_mocks_own_close_frame(ws_server: MockServer) -> None:
    """A send step after Fault.close_frame_only() is skipped with a note, not written."""
    ws_server.script(send_text("a"), Fault.close_frame_only(), send_text("after the close"))
    # The fault keeps TCP open after the closing handshake: the client ends it after 0.5 s.
    with sync_client(ws_server.url, close_timeout=0.5) as ws:
        assert ws.recv(timeout=5) == "a"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    frames = [(f.direction, f.opcode_name) for f in conn.frames]
    server_close = frames.index((Direction.SERVER, "CLOSE"))
    after = [name for direction, name in frames[server_close:] if direction is Direction.SERVER]
    assert after == ["CLOSE"], conn.frames
    assert [m.text for m in conn.sent] == ["a"]
    assert any("skipped" in note and "after the close" in note for note in conn.notes), conn.notes


def test_a_refused_connection_owes_no_script(ws_server: MockServer) -> None:
    """A script runs only on a connection that opened: a refused one has nothing to settle, so
    the verdict and teardown do not wait close_timeout for it (they did, twice, 2 s each)."""
    ws_server.handshake(Handshake.reject(503), Handshake.accept())
    ws_server.script(send_text("hi"))
    with pytest.raises(InvalidStatus):
        websockets.sync.client.connect(ws_server.url, open_timeout=5)
    refused = ws_server.wait_for_connection(0)
    refused.wait_closed()
    engine = ws_server._controls[0].engine
    assert engine is not None
    assert not engine.script_unsettled()
    with websockets.sync.client.connect(ws_server.url, open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "hi"
