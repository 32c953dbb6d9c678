"""A script whose connection ends after a deliberate break stops quietly, not as a failure."""

from __future__ import annotations

import pytest
import websockets.sync.client

from pytest_wsmock import FRAME_VIOLATIONS, MockServer, send_text, wait

from ._support import write_ini

RSV2 = next(entry for entry in FRAME_VIOLATIONS if entry.id == "rsv2")


def test_steps_after_a_violation_stop_quietly(ws_server: MockServer) -> None:
    """The client fails the connection; the leftover send is skipped with a note."""
    ws_server.script(send_text("hi"), RSV2, wait(0.05), send_text("after"))
    received = []
    with websockets.sync.client.connect(ws_server.url, open_timeout=2) as ws:
        received.append(ws.recv(timeout=2))
        with pytest.raises(websockets.ConnectionClosedError):
            ws.recv(timeout=2)
    assert received == ["hi"]
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    assert info.client_code == 1002
    assert conn.script_failure is None
    assert any(
        note.startswith("script step 4 of 4, send_text('after'): skipped") for note in conn.notes
    )


def test_a_closed_connection_without_a_break_still_fails_the_script(
    pytester: pytest.Pytester,
) -> None:
    """Without a deliberate break, a client that leaves mid-script fails it, naming the step."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import websockets.sync.client
        from pytest_wsmock import send_text, expect_text

        def test_leaves_early(ws_server):
            ws_server.script(send_text("hi"), expect_text("answer"))
            with websockets.sync.client.connect(ws_server.url, open_timeout=2) as ws:
                ws.recv(timeout=2)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=0)
    # Whether the script saw the close before teardown or was still waiting then, the error
    # names the step it stopped at.
    result.stdout.fnmatch_lines(["*ScriptError*step 2 of 2, expect_text('answer')*"])
