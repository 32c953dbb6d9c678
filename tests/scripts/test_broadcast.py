"""Broadcast and close-all from the test body, to every open connection."""

from __future__ import annotations

import asyncio

import pytest
import websockets
import websockets.asyncio.client
import websockets.sync.client

from pytest_wsmock import Direction, MockServer, silent

TIMEOUT = 2.0


def test_broadcast_reaches_every_open_connection(ws_server: MockServer) -> None:
    """broadcast_text/binary send to each open connection and count them."""
    ws_server.handler(silent)
    with (
        websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT) as first,
        websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT) as second,
    ):
        ws_server.wait_for_connection(1, timeout=TIMEOUT)
        assert ws_server.broadcast_text("news") == 2
        assert ws_server.broadcast_binary(b"\x01") == 2
        for client in (first, second):
            assert client.recv(timeout=TIMEOUT) == "news"
            assert client.recv(timeout=TIMEOUT) == b"\x01"
    for conn in ws_server.connections:
        conn.wait_closed(timeout=TIMEOUT)
        assert [m.value for m in conn.sent] == ["news", b"\x01"]


def test_broadcast_skips_closed_connections(ws_server: MockServer) -> None:
    """A connection that has ended gets nothing and is not counted."""
    with websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT):
        pass
    ws_server.wait_for_connection(timeout=TIMEOUT).wait_closed(timeout=TIMEOUT)
    with websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT) as client:
        ws_server.wait_for_connection(timeout=TIMEOUT)
        assert ws_server.broadcast_text("only you") == 1
        assert client.recv(timeout=TIMEOUT) == "only you"


def test_close_all_runs_each_closing_handshake(ws_server: MockServer) -> None:
    """close_all closes every open connection with the code and reason, and reports each."""
    ws_server.handler(silent)
    with (
        websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT) as first,
        websockets.sync.client.connect(ws_server.url, open_timeout=TIMEOUT) as second,
    ):
        ws_server.wait_for_connection(1, timeout=TIMEOUT)
        infos = ws_server.close_all(1001, "maintenance")
        for client in (first, second):
            with pytest.raises(websockets.ConnectionClosedOK):
                client.recv(timeout=TIMEOUT)
            assert client.close_code == 1001
    assert len(infos) == 2
    for info in infos:
        assert info.initiator is Direction.SERVER
        assert (info.server_code, info.server_reason) == (1001, "maintenance")
        assert info.client_code == 1001


@pytest.mark.asyncio
async def test_async_forms_do_not_block_the_clients_loop(ws_server: MockServer) -> None:
    """broadcast_text_async and close_all_async work with a client on the test's own loop."""
    async with websockets.asyncio.client.connect(ws_server.url, open_timeout=TIMEOUT) as ws:
        await ws_server.connection(timeout=TIMEOUT)
        assert await ws_server.broadcast_text_async("hi") == 1
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "hi"
        (info,) = await ws_server.close_all_async(4000, "bye")
        assert info.server_code == 4000
        assert info.client_code == 4000
