"""A finished test's servers, connections and records are released, not kept until the session
ends (pytest keeps every item, and so whatever an item's stash holds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import write_ini

#: Inner tests: the first keeps weak references to its servers and connections (after a real
#: echo, so frames, messages and deflate contexts exist), the second checks they are gone.
RELEASE_TESTS = """
import gc
import weakref

import pytest
import websockets.sync.client
from pytest_wsmock import echo

REFS = {}


def _echo_once(server, **options):
    server.handler(echo)
    with websockets.sync.client.connect(
        server.url, open_timeout=5, close_timeout=5, proxy=None, **options
    ) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
    conn = server.wait_for_connection()
    conn.wait_closed()
    return conn


def test_keeps_weak_references(ws_server, wss_server, ws_server_factory):
    REFS["ws_server"] = weakref.ref(ws_server)
    REFS["connection"] = weakref.ref(_echo_once(ws_server))
    REFS["wss_server"] = weakref.ref(wss_server)
    REFS["wss connection"] = weakref.ref(
        _echo_once(wss_server, ssl=wss_server.client_ssl_context())
    )
    REFS["factory"] = weakref.ref(ws_server_factory)


FAILING


def test_they_are_dead():
    gc.collect()
    alive = sorted(name for name, ref in REFS.items() if ref() is not None)
    assert alive == []
"""

FAILING_TEST = """
def test_fails_with_a_transcript(ws_server):
    REFS["failed test's server"] = weakref.ref(ws_server)
    REFS["failed test's connection"] = weakref.ref(_echo_once(ws_server))
    assert False, "fails on purpose"
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_finished_tests_servers_are_collectable(pytester: pytest.Pytester, backend: str) -> None:
    """Once a test's reports are made, its servers and connections can be garbage-collected."""
    write_ini(pytester, f"wsmock_backend = {backend}")
    pytester.makepyfile(RELEASE_TESTS.replace("FAILING", ""))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_failed_tests_servers_are_collectable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed test's servers are released too, after its report got the transcript."""
    # The subprocess imports this checkout's package, not whichever one is installed.
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    write_ini(pytester)
    pytester.makepyfile(RELEASE_TESTS.replace("FAILING", FAILING_TEST))
    # In a subprocess: in-process, pytester's own hook recorder keeps the failure's CallInfo,
    # whose traceback holds the failed test's frame and so its server.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*wsmock transcript*", "*connection #0*"])


def test_transcript_option_still_shows_passing_tests(pytester: pytest.Pytester) -> None:
    """With --wsmock-transcript, a passing test's transcript is kept as text, its servers not."""
    write_ini(pytester)
    pytester.makepyfile(RELEASE_TESTS.replace("FAILING", ""))
    result = pytester.runpytest("-p", "no:cacheprovider", "--wsmock-transcript")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*wsmock transcripts of passing tests*", "*test_keeps_weak_references*"]
    )
