"""A server's deadline that passes during the test makes the test fail (in the call phase),
reported once, without masking a failure of the test's own."""

from __future__ import annotations

import pytest

from ._support import write_ini

SILENT_CLIENT = """
import time

import pytest
import websockets.sync.client


def connect(server):
    return websockets.sync.client.connect(server.url, open_timeout=5, close_timeout=1, proxy=None)
"""


def test_deadline_fails_the_test(pytester: pytest.Pytester) -> None:
    """A connected, silent client outlives deadline=0.3: the test fails, naming the deadline,
    and teardown raises nothing more."""
    write_ini(pytester)
    pytester.makepyfile(
        SILENT_CLIENT
        + """

@pytest.mark.wsmock(deadline=0.3)
def test_slow(ws_server):
    with connect(ws_server):
        time.sleep(0.6)
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_slow _*",
            "E *WaitTimeout: the mock server's deadline of 0.3 s (option deadline) passed; "
            "it closed its listener and 1 open connection(s)*",
            "*wsmock transcript*",
        ]
    )
    result.stdout.no_fnmatch_line("*ERROR at teardown*")


def test_deadline_does_not_mask_the_tests_own_failure(pytester: pytest.Pytester) -> None:
    """A test that fails on its own keeps its failure; the deadline is reported with it."""
    write_ini(pytester)
    pytester.makepyfile(
        SILENT_CLIENT
        + """

@pytest.mark.wsmock(deadline=0.3)
def test_slow_and_wrong(ws_server):
    with connect(ws_server):
        time.sleep(0.6)
    assert 1 == 2, "the test's own failure"
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*_ test_slow_and_wrong _*",
            "E *AssertionError: the test's own failure",
            "*- wsmock server failures -*",
            "pytest_wsmock.WaitTimeout: the mock server's deadline of 0.3 s*",
        ]
    )


def test_deadline_caught_by_a_wait_is_not_raised_again(pytester: pytest.Pytester) -> None:
    """A test that met the deadline in a wait and expected it passes: reported once is enough."""
    write_ini(pytester)
    pytester.makepyfile(
        SILENT_CLIENT
        + """
from pytest_wsmock import ServerError


@pytest.mark.wsmock(deadline=0.3)
def test_expects_the_deadline(ws_server):
    with connect(ws_server):
        with pytest.raises(ServerError, match="deadline of 0.3 s"):
            ws_server.wait_for_connection(index=1, timeout=5)
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
