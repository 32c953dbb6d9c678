"""How a failed or unfinished script fails the test, seen from pytest's side (pytester)."""

from __future__ import annotations

import pytest

from ..plugin._support import HELD_SOCKETS, RAW_CLIENT

#: The inner run's ini: as strict as the project's, without plugins the inner tests do not need.
INI = """\
[pytest]
addopts = -p no:hypothesispytest -p no:benchmark --strict-markers
filterwarnings =
    error
asyncio_default_fixture_loop_scope = function
"""

HEADER = """
import time

import pytest
import websockets.sync.client

from pytest_wsmock import ScriptError, close, expect_text, send_text, wait_for_release


def connect(url):
    return websockets.sync.client.connect(
        url, open_timeout=5, close_timeout=5, ping_interval=None, proxy=None, compression=None
    )
"""


def run_inner(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    """Run ``body`` (after the common imports) as an inner test file."""
    pytester.makeini(INI)
    pytester.makepyfile(test_inner=HEADER + body)
    return pytester.runpytest()


def test_unmet_expectation_fails_the_test(pytester: pytest.Pytester) -> None:
    """An unmet expectation fails the test (call phase) with a full ScriptError."""
    result = run_inner(
        pytester,
        """
def test_greeting(ws_server):
    ws_server.script(send_text("welcome"), expect_text("hello"), close(1000))
    with connect(ws_server.url_for("/chat")) as ws:
        assert ws.recv(timeout=5) == "welcome"
        ws.send("goodbye")
""",
    )
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*_ test_greeting _*",
            "E*ScriptError: connection #0 (GET /chat): script step 2 of 3, "
            "expect_text('hello'): expected 'hello', got text 'goodbye'",
            # The report lists the frames once, in its transcript section.
            "*last frames: see the wsmock transcript below",
            "*- wsmock transcript -*",
            "*server -> client*TEXT*'welcome'",
            "*client -> server*TEXT*'goodbye'",
        ]
    )
    assert result.stdout.str().count("client -> server  TEXT") == 1


def test_unfinished_script_fails_the_test(pytester: pytest.Pytester) -> None:
    """A script still waiting when the test ends on an open connection fails it, naming the
    step it was on."""
    result = run_inner(
        pytester,
        RAW_CLIENT
        + HELD_SOCKETS
        + """

def test_never_released(sockets, ws_server):
    ws_server.script(send_text("a"), wait_for_release("go"), close(1000))
    sockets.append(raw_handshake(ws_server.host, ws_server.port))
    conn = ws_server.wait_for_connection()
    deadline = time.monotonic() + 5
    while not conn.sent:
        assert time.monotonic() < deadline, conn.describe()
        time.sleep(0.01)
""",
    )
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*_ test_never_released _*",
            "E*ScriptError: connection #0 (GET /): the script did not finish: it was at "
            "step 2 of 3, wait_for_release('go') (*",
        ]
    )


def test_a_release_is_moot_once_the_client_closed(pytester: pytest.Pytester) -> None:
    """When the client closes during wait_for_release, the wait ends with a note and the rest
    of the script follows the lifecycle: the verdict does not wait for a release."""
    result = run_inner(
        pytester,
        """
def test_client_leaves(ws_server):
    ws_server.script(send_text("a"), wait_for_release("go"), close(1000))
    with connect(ws_server.url) as ws:
        assert ws.recv(timeout=5) == "a"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script.done
    assert conn.script_failure is None
    assert "wait_for_release('go'): the connection ended before the test released it" in conn.notes
    assert any("close(1000): skipped" in note for note in conn.notes)
""",
    )
    result.assert_outcomes(passed=1)


def test_wait_in_the_test_fails_fast(pytester: pytest.Pytester) -> None:
    """A wait raises the ScriptError at once, and teardown does not repeat it."""
    result = run_inner(
        pytester,
        """
def test_fail_fast(ws_server):
    ws_server.script(expect_text("hello"))
    with connect(ws_server.url) as ws:
        ws.send("nope")
        conn = ws_server.wait_for_connection(timeout=5)
        started = time.monotonic()
        with pytest.raises(ScriptError, match="expected 'hello', got text 'nope'"):
            conn.wait_for_messages(2, timeout=30)
        assert time.monotonic() - started < 5
""",
    )
    result.assert_outcomes(passed=1)


def test_uncaught_fail_fast_error_is_reported_once(pytester: pytest.Pytester) -> None:
    """Left uncaught, the wait's ScriptError fails the test, and teardown adds no error."""
    result = run_inner(
        pytester,
        """
def test_fail_fast(ws_server):
    ws_server.script(expect_text("hello"))
    with connect(ws_server.url) as ws:
        ws.send("nope")
        ws_server.wait_for_connection(timeout=5).wait_for_messages(2, timeout=30)
""",
    )
    result.assert_outcomes(failed=1)  # and no error at teardown
    # One report of the error (the short summary line, untruncated under CI=true, not counted).
    reported = [
        line
        for line in result.outlines
        if line.startswith("E") and "ScriptError: connection #0" in line
    ]
    assert len(reported) == 1, reported


def test_script_with_no_connection_fails(pytester: pytest.Pytester) -> None:
    """A script set on a server that no client connected to fails the test."""
    result = run_inner(
        pytester,
        """
def test_nobody_came(ws_server):
    ws_server.script(send_text("hello?"))
""",
    )
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        ["E*ScriptError: a script was set on ws://127.0.0.1:* but no client connected"]
    )


def test_script_for_a_connection_that_never_came_fails(pytester: pytest.Pytester) -> None:
    """A script for connection #1 when only one connection came errors the test."""
    result = run_inner(
        pytester,
        """
def test_no_second_connection(ws_server):
    ws_server.script(send_text("second"), connection=1)
    with connect(ws_server.url) as ws:
        ws.send("hi")
    ws_server.wait_for_connection(timeout=5).wait_closed(timeout=5)
""",
    )
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "E*ScriptError: a script was set for connection #1 on ws://127.0.0.1:*, but only "
            "1 connection(s) came"
        ]
    )
