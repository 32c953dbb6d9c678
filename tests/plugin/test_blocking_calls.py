"""Blocking waits and assertions refuse to run in a thread that runs an event loop, at once
and whatever the record holds, naming the awaitable form; the awaitable forms work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
import websockets.sync.client

from pytest_wsmock import BlockingCallError, Connection, MockServer, WaitTimeout, silent

from ._support import write_ini

#: (call, the awaitable form the error names, the blocking call on a server and its
#: connection). Every call here would return at once: the connection has ended and its
#: messages are in.
BLOCKING: list[tuple[str, str, Callable[[MockServer, Connection], Any]]] = [
    (
        "server.wait_for_connection()",
        "await server.connection()",
        lambda s, c: s.wait_for_connection(0),
    ),
    ("server.close_all()", "await server.close_all_async()", lambda s, c: s.close_all()),
    ("server.restart()", "await server.restart_async()", lambda s, c: s.restart()),
    ("server.stop()", "await server.stop_async()", lambda s, c: s.stop()),
    ("server.settle()", "await server.settle_async()", lambda s, c: s.settle()),
    ("conn.wait_closed()", "await conn.wait_closed_async()", lambda s, c: c.wait_closed()),
    (
        "conn.wait_for_messages()",
        "await conn.wait_for_messages_async()",
        lambda s, c: c.wait_for_messages(1),
    ),
    (
        "conn.wait_for_message()",
        "await conn.wait_for_message_async()",
        lambda s, c: c.wait_for_message(),
    ),
    (
        "conn.assert_received()",
        "await conn.assert_received_async()",
        lambda s, c: c.assert_received("hi"),
    ),
    (
        "conn.assert_closed()",
        "await conn.assert_closed_async()",
        lambda s, c: c.assert_closed(1000),
    ),
    ("conn.send_close()", "await conn.send_close_async()", lambda s, c: c.send_close()),
]


async def closed_connection(server: MockServer) -> Connection:
    server.handler(silent)
    async with websockets.connect(server.url) as ws:
        await ws.send("hi")
    conn = await server.connection()
    await conn.wait_closed_async()
    return conn


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("call", "instead", "blocking"), BLOCKING, ids=[entry[0] for entry in BLOCKING]
)
async def test_a_blocking_call_in_an_event_loop_raises_at_once(
    ws_server: MockServer,
    call: str,
    instead: str,
    blocking: Callable[[MockServer, Connection], Any],
) -> None:
    """Even when the wait would return at once, it raises, naming the awaitable form."""
    conn = await closed_connection(ws_server)
    with pytest.raises(BlockingCallError) as excinfo:
        blocking(ws_server, conn)
    assert (excinfo.value.call, excinfo.value.instead) == (call, instead)
    assert f"use `{instead}` instead" in str(excinfo.value)
    assert isinstance(excinfo.value, RuntimeError)


def test_the_same_calls_outside_an_event_loop_do_not_raise(ws_server: MockServer) -> None:
    """In a sync test (no loop in this thread) every one of them runs."""
    ws_server.handler(silent)
    with websockets.sync.client.connect(ws_server.url) as ws:
        ws.send("hi")
    conn = ws_server.wait_for_connection(0)
    conn.wait_closed()
    for _, _, blocking in BLOCKING:
        blocking(ws_server, conn)


@pytest.mark.asyncio
async def test_the_async_assertions_pass_and_fail_like_the_blocking_ones(
    ws_server: MockServer,
) -> None:
    conn = await closed_connection(ws_server)
    await conn.assert_received_async("hi")
    info = await conn.assert_closed_async(1000, clean=True)
    assert info.code == 1000
    with pytest.raises(AssertionError, match="MISMATCH"):
        await conn.assert_received_async("bye")
    with pytest.raises(AssertionError, match="client_code"):
        await conn.assert_closed_async(4000)


@pytest.mark.asyncio
async def test_assert_received_async_waits_without_blocking_the_loop(
    ws_server: MockServer,
) -> None:
    """The client runs in the test's own loop: the awaitable assertion lets it send meanwhile
    (a blocking one would hold the loop, and the message could never come)."""
    ws_server.handler(silent)
    async with websockets.connect(ws_server.url) as ws:
        conn = await ws_server.connection()

        async def later() -> None:
            await ws.send("late")

        task = asyncio.get_running_loop().create_task(later())
        await conn.assert_received_async("late", timeout=5)
        await task
    await conn.assert_closed_async(1000)


@pytest.mark.asyncio
async def test_async_stop_and_settle(ws_server: MockServer) -> None:
    await closed_connection(ws_server)
    await ws_server.settle_async()
    await ws_server.stop_async()
    with pytest.raises(ConnectionRefusedError):
        async with websockets.connect(ws_server.url, open_timeout=2):
            pass


def test_a_handler_that_calls_a_blocking_wait_fails_with_the_error() -> None:
    """A handler runs in the server's loop: a blocking wait there is the same mistake."""
    with MockServer() as server:

        @server.handler
        async def waits_wrongly(ws: Any) -> None:
            server.wait_for_connection(0)

        with (
            websockets.sync.client.connect(server.url) as ws,
            pytest.raises(websockets.ConnectionClosedError),
        ):
            ws.recv(timeout=5)
        # Leaving the block stops the server, which waits for the connection's task to end.
        # (Not conn.wait_closed(): a wait ends early with the server's failure when the
        # failure is in before the connection has ended, which here is a race.)
    [(where, error)] = server.errors
    assert "waits_wrongly" in where
    assert isinstance(error, BlockingCallError)
    assert error.instead == "await server.connection()"


@pytest.mark.asyncio
async def test_a_timeout_of_the_awaitable_form_is_a_wait_timeout(ws_server: MockServer) -> None:
    with pytest.raises(WaitTimeout, match="connection #0"):
        await ws_server.connection(timeout=0.05)


TRIO_TEST = """
import pytest
import trio_websocket

from pytest_wsmock import BlockingCallError, echo


@pytest.fixture
def anyio_backend():
    return "trio"


@pytest.mark.anyio
async def test_trio(ws_server):
    ws_server.handler(echo)
    async with trio_websocket.open_websocket_url(ws_server.url) as ws:
        await ws.send_message("hi")
        assert await ws.get_message() == "hi"
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    with pytest.raises(BlockingCallError, match="await conn.assert_received_async"):
        conn.assert_received("hi")
    await conn.assert_received_async("hi")
    await conn.assert_closed_async(1000)
"""


def test_trio_loops_are_detected_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under trio (anyio's plugin, in a subprocess: trio keeps global state) as under asyncio."""
    # The subprocess imports this checkout, not whichever one is installed.
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    write_ini(pytester)
    pytester.makepyfile(TRIO_TEST)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
