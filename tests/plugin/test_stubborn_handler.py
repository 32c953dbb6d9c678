"""A handler that ignores cancellation fails its test and cannot hang the run at exit: the
event-loop threads are stopped with a bound, and what would not stop is named."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ._support import write_ini

STUBBORN_TESTS = """
import asyncio

import anyio
import pytest
import websockets.sync.client


async def stubborn_trio(ws):
    # Ignores cancellation without spinning. trio's cancellation is level-triggered: a handler
    # that catches Cancelled and sleeps again spins, holding the GIL in 5 ms slices, and the
    # main thread's many short system calls (pytest formatting a traceback: inspect's
    # realpath per module) then take minutes. That measured the GIL, not the bound under test.
    while True:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(1)


async def stubborn_asyncio(ws):
    while True:
        try:
            await asyncio.sleep(0.5)
        except asyncio.CancelledError:
            pass


def _connect(server):
    with websockets.sync.client.connect(
        server.url, open_timeout=5, close_timeout=1, proxy=None
    ):
        server.wait_for_connection()


def test_on_trio(ws_server):
    assert ws_server.options.backend == "trio"
    ws_server.handler(stubborn_trio)
    _connect(ws_server)


@pytest.mark.wsmock(backend="asyncio")
def test_on_asyncio(ws_server):
    ws_server.handler(stubborn_asyncio)
    _connect(ws_server)
"""


# Slow group: 25 s by design (two 10 s teardowns, then 5 s for the threads), and its bound
# must leave room for a loaded machine.
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_stubborn_handlers_do_not_hang_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handlers swallowing cancellation on trio and asyncio: each test errors at teardown, the
    run ends within a bound and names both handlers."""
    # The subprocess imports this checkout's package, not whichever one is installed.
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    write_ini(pytester)
    pytester.makepyfile(STUBBORN_TESTS)
    # Two teardowns of 10 s each (the server's stop timeout), then at most 5 s for the threads.
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--wsmock-backend", "trio", timeout=150
    )
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        ["*did not stop within 10.0 s: a handler is ignoring cancellation*"]
    )
    output = result.stdout.str() + result.stderr.str()
    for backend, handler in (("trio", "stubborn_trio"), ("asyncio", "stubborn_asyncio")):
        lines = [line for line in output.splitlines() if f"the {backend} event-loop thread" in line]
        assert len(lines) == 1, output
        assert "did not stop within 5.0 s" in lines[0]
        assert f"{handler} (" in lines[0], lines[0]


OUTSIDE_PYTEST = """
import anyio
import websockets.sync.client
from pytest_wsmock import MockServer, ServerOptions


async def stubborn_outside(ws):
    while True:
        try:
            await anyio.sleep(1)
        except anyio.get_cancelled_exc_class():
            pass


server = MockServer(ServerOptions()).start()
server.handler(stubborn_outside)
client = websockets.sync.client.connect(server.url, open_timeout=5, proxy=None)
server.wait_for_connection()
print("exiting with the server running")
"""


def test_stubborn_handler_does_not_hang_the_exit_outside_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script that exits with a stubborn handler running ends within the bound, naming it."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    script = pytester.makepyfile(OUTSIDE_PYTEST)
    result = pytester.run(sys.executable, script, timeout=30)
    assert result.ret == 0, result.stderr.str()
    result.stderr.fnmatch_lines(
        [
            "pytest-wsmock: the asyncio event-loop thread did not stop within 5.0 s*"
            "stubborn_outside (*"
        ]
    )
