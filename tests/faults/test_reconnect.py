"""Reconnect loops: a server restart, a refused port, and a reconnect after a dropped connection.

The client side here is what a user writes: a small reconnect loop around websockets' asyncio
client (and websocket-client for the sync case), every call bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
import websocket
import websockets.asyncio.client
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from pytest_wsmock import Direction, Fault, MockServer, send_text

#: Seconds each client call may take.
TIMEOUT = 2.0

#: How long the server stays down in the restart test.
DOWN_FOR = 0.3

#: Pause between two connection attempts of the reconnect loop.
RETRY_EVERY = 0.05


async def reconnect_loop(url: str, sessions: int, log: list[str]) -> None:
    """Connect, read until the connection ends, reconnect; stop after ``sessions`` sessions.

    ``log`` gets ``"refused"``, ``"connected"``, ``"got <text>"`` and ``"closed <code>"``.
    """
    done = 0
    while done < sessions:
        try:
            ws = await websockets.asyncio.client.connect(
                url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, ping_interval=None, proxy=None
            )
        except ConnectionRefusedError:
            log.append("refused")
            await asyncio.sleep(RETRY_EVERY)
            continue
        log.append("connected")
        async with ws:
            try:
                while True:
                    log.append(f"got {await asyncio.wait_for(ws.recv(), TIMEOUT)}")
                    if done + 1 == sessions:
                        break  # the last session ends by the client's own close
            except ConnectionClosed:
                log.append(f"closed {ws.close_code}")
        done += 1


@pytest.mark.asyncio
async def test_reconnect_loop_across_a_restart(ws_server: MockServer) -> None:
    """While the server is down the loop is refused; when it is back, the loop reconnects."""
    ws_server.script(send_text("welcome"))
    log: list[str] = []
    loop = asyncio.create_task(reconnect_loop(ws_server.url, 2, log))
    first = await ws_server.connection(timeout=TIMEOUT)
    assert first.accepted
    port = ws_server.port
    started = time.monotonic()
    await ws_server.restart_async(down_for=DOWN_FOR)
    assert time.monotonic() - started >= DOWN_FOR
    await asyncio.wait_for(loop, TIMEOUT * 3)

    # The client saw: the greeting, the connection dropped by the restart (1006), refusals
    # while the port was closed, then the new connection and its greeting.
    assert log[:3] == ["connected", "got welcome", "closed 1006"], log
    refusals = log[3:-2]
    assert refusals, f"the loop was never refused while the server was down: {log}"
    assert set(refusals) == {"refused"}, log
    assert log[-2:] == ["connected", "got welcome"], log

    # The server: same port, two connections, numbering carried on, the restart noted.
    assert ws_server.port == port
    assert len(ws_server.connections) == 2
    second = await ws_server.connection(timeout=TIMEOUT)
    assert second.index == 1
    assert await second.wait_closed_async(TIMEOUT) is not None
    assert first.close is not None
    assert not first.close.client_sent  # the restart cut it: no closing handshake
    assert first.close.tcp_closed_by is Direction.SERVER
    assert second.close is not None
    assert second.close.clean
    assert ws_server.notes == [f"restart: down for {DOWN_FOR} s"]


@pytest.mark.asyncio
async def test_reconnect_after_a_dropped_connection(ws_server: MockServer) -> None:
    """A drop on connection #0 makes the loop reconnect; #1 runs normally."""
    ws_server.script(send_text("first"), Fault.drop(), connection=0)
    ws_server.script(send_text("second"), connection=1)
    log: list[str] = []
    await asyncio.wait_for(reconnect_loop(ws_server.url, 2, log), TIMEOUT * 3)
    assert log == ["connected", "got first", "closed 1006", "connected", "got second"]
    first, second = ws_server.connections
    assert any(note.startswith("fault drop fired at +") for note in first.notes), first.notes
    assert first.close is not None
    assert (first.close.client_sent, first.close.tcp_closed_by) == (False, Direction.SERVER)
    info = await second.wait_closed_async(TIMEOUT)
    assert info.clean
    assert second.notes == []


def test_restart_refuses_while_down_sync(ws_server: MockServer) -> None:
    """restart(down_for) in a sync test: the old client sees the drop, the next one gets in."""
    ws_server.script(send_text("hi"))
    with websockets.sync.client.connect(
        ws_server.url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None
    ) as ws:
        assert ws.recv(timeout=TIMEOUT) == "hi"
        ws_server.restart(down_for=0.05)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=TIMEOUT)
        assert ws.close_code == 1006
    with websockets.sync.client.connect(
        ws_server.url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None
    ) as ws:
        assert ws.recv(timeout=TIMEOUT) == "hi"
    assert len(ws_server.connections) == 2


def _refused_websockets_sync(url: str) -> BaseException:
    with (
        pytest.raises(ConnectionRefusedError) as caught,
        websockets.sync.client.connect(url, open_timeout=TIMEOUT, proxy=None),
    ):
        pass
    return caught.value


def _refused_websockets_asyncio(url: str) -> BaseException:
    async def attempt() -> BaseException:
        with pytest.raises(ConnectionRefusedError) as caught:
            async with websockets.asyncio.client.connect(url, open_timeout=TIMEOUT, proxy=None):
                pass
        return caught.value

    return asyncio.run(attempt())


def _refused_aiohttp(url: str) -> BaseException:
    async def attempt() -> BaseException:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
            with pytest.raises(aiohttp.ClientConnectorError) as caught:
                async with session.ws_connect(url):
                    pass
        # aiohttp wraps the refusal; the OS error is kept.
        assert isinstance(caught.value.os_error, ConnectionRefusedError)
        return caught.value

    return asyncio.run(attempt())


def _refused_websocket_client(url: str) -> BaseException:
    with pytest.raises(ConnectionRefusedError) as caught:
        websocket.create_connection(url, timeout=TIMEOUT)
    return caught.value


REFUSED = {
    "websockets-asyncio": _refused_websockets_asyncio,
    "websockets-sync": _refused_websockets_sync,
    "aiohttp": _refused_aiohttp,
    "websocket-client": _refused_websocket_client,
}


@pytest.mark.parametrize("client", list(REFUSED))
def test_refused_url(ws_refused_url: str, client: str) -> None:
    """Each client gets ConnectionRefusedError (aiohttp: in a ClientConnectorError) at once."""
    started = time.monotonic()
    error = REFUSED[client](ws_refused_url)
    # Not a speed check: a refusal must come before the client's own timeout would.
    assert time.monotonic() - started < TIMEOUT, "a refused port must fail fast, not time out"
    refusal = getattr(error, "os_error", error)  # aiohttp keeps the OS error there
    assert isinstance(refusal, ConnectionRefusedError), repr(error)


def test_refused_url_stays_refused(ws_server_factory: object, ws_refused_url: str) -> None:
    """The refused URL is ws:// on 127.0.0.1 and refuses every attempt during the test."""
    assert ws_refused_url.startswith("ws://127.0.0.1:")
    for _ in range(3):
        with pytest.raises(ConnectionRefusedError):
            websocket.create_connection(ws_refused_url, timeout=TIMEOUT)
