"""The servers' verdict is the test's own failure, given at the end of its call phase: the
summary says "1 failed", ``xfail`` applies, and teardown reports only what happened after."""

from __future__ import annotations

import re

import pytest

from ._support import RAW_CLIENT, write_ini

#: Inner tests: a raw client on path /call sends an unmasked frame during the test; the
#: ``late`` fixture holds a client on /teardown that sends one while the fixture closes.
INNER = (
    RAW_CLIENT
    + """

import pytest


def unmasked(sock):
    sock.sendall(b"\\x81\\x05hello")
    assert read_close_frame(sock) == 1002
    send_close(sock, 1002)


@pytest.fixture
def late(ws_server):
    # Torn down before ws_server: its violation happens after the test's call phase.
    sock = raw_handshake("127.0.0.1", ws_server.port, "/teardown")
    yield sock
    with sock:
        unmasked(sock)
    ws_server.wait_for_connection(0).wait_closed()


def broken_client(server):
    index = len(server.connections)
    with raw_handshake("127.0.0.1", server.port, "/call") as sock:
        unmasked(sock)
    server.wait_for_connection(index).wait_closed()
"""
)


def run(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    write_ini(pytester)
    pytester.makepyfile(INNER + body)
    return pytester.runpytest("-p", "no:cacheprovider")


def test_a_violation_fails_the_test_not_its_teardown(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_broken(ws_server):
    broken_client(ws_server)
""",
    )
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(["*_ test_broken _*", "*ClientViolationError*", "*1 failed*"])
    result.stdout.no_fnmatch_line("*ERROR at teardown*")


def test_xfail_strict_applies_to_the_verdict(pytester: pytest.Pytester) -> None:
    """xfail(strict=True) on a test whose client breaks the protocol: xfailed, not an error
    (and not XPASS(strict), which a teardown error would have made it)."""
    result = run(
        pytester,
        """
@pytest.mark.xfail(strict=True, raises=AssertionError, reason="the client is known broken")
def test_known_broken(ws_server):
    broken_client(ws_server)
""",
    )
    result.assert_outcomes(xfailed=1)


def test_xfail_strict_without_a_violation_is_xpass(pytester: pytest.Pytester) -> None:
    """The same marker on a test whose client behaves: XPASS(strict) fails the run."""
    result = run(
        pytester,
        """
@pytest.mark.xfail(strict=True, reason="the client is known broken")
def test_known_broken(ws_server):
    ws_server.url
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*"])


def test_a_violation_during_teardown_is_still_reported(pytester: pytest.Pytester) -> None:
    """A client fixture that breaks the protocol while closing: the test passed, and teardown
    reports the violation as an error."""
    result = run(
        pytester,
        """
def test_fine_until_teardown(ws_server, late):
    ws_server.wait_for_connection(0)
""",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_fine_until_teardown*",
            "*connection #0 (GET /teardown): unmasked-frame*",
        ]
    )


def test_teardown_reports_only_what_is_new(pytester: pytest.Pytester) -> None:
    """A violation in the test and another while its fixture closes: the test fails with the
    first, teardown errors with the second only; neither is reported twice."""
    result = run(
        pytester,
        """
def test_broken_twice(ws_server, late):
    broken_client(ws_server)
""",
    )
    result.assert_outcomes(failed=1, errors=1)
    lines = result.stdout.lines
    # The report sections only: with CI set, pytest's short summary repeats whole messages.
    lines = lines[: next(i for i, line in enumerate(lines) if "short test summary" in line)]
    # The errors' messages name the connection; the transcripts' violation lines do not.
    reported = [line for line in lines if re.search(r"connection #\d \(GET /\w+\): unmasked", line)]
    assert len(reported) == 2, "\n".join(lines)
    # Errors come first in pytest's report: teardown's, then the call phase's.
    assert "(GET /teardown): unmasked-frame" in reported[0]
    assert "(GET /call): unmasked-frame" in reported[1]
    assert sum("(GET /call): unmasked-frame" in line for line in reported) == 1
    assert sum("(GET /teardown): unmasked-frame" in line for line in reported) == 1


def test_the_tests_own_failure_comes_first(pytester: pytest.Pytester) -> None:
    """A test that fails on its own keeps its failure first; the violation is part of that
    failure's report (a "wsmock server failures" section), not a second, teardown error."""
    result = run(
        pytester,
        """
def test_wrong_and_broken(ws_server):
    broken_client(ws_server)
    assert 1 == 2, "the test's own failure"
""",
    )
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*_ test_wrong_and_broken _*",
            "E *AssertionError: the test's own failure",
            "*- wsmock server failures -*",
            "pytest_wsmock.ClientViolationError: *",
        ]
    )


def test_a_script_failure_fails_the_test_under_xfail(pytester: pytest.Pytester) -> None:
    """A script whose expectation was not met is the test's failure, so xfail applies."""
    result = run(
        pytester,
        """
import websockets.sync.client
from pytest_wsmock import ScriptError, expect_text, send_text


@pytest.mark.xfail(strict=True, raises=ScriptError)
def test_wrong_answer(ws_server):
    ws_server.script(send_text("hi"), expect_text("hello"))
    with websockets.sync.client.connect(ws_server.url, open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "hi"
        ws.send("bye")
""",
    )
    result.assert_outcomes(xfailed=1)
