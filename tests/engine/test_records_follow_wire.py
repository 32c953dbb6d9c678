"""Records never lag the wire: what the client already holds is already in the record, read
straight from ``ws_server.connections`` with no wait."""

from __future__ import annotations

import aiohttp
import pytest

from pytest_wsmock import MockServer, WebSocket

from ..scripts._support import sync_client

REPEAT = 200


async def greet(ws: WebSocket) -> None:
    """Send one message, then answer until the client closes."""
    await ws.send_text("hello")
    async for _ in ws:
        pass


def test_websockets_sync_response_recorded_before_client_returns(ws_server: MockServer) -> None:
    """Once websockets' connect() returned, the last connection's 101 is recorded."""
    for _ in range(REPEAT):
        with sync_client(ws_server.url):
            conn = ws_server.connections[-1]
            assert conn.response is not None
            assert conn.accepted


def test_websockets_sync_sent_recorded_before_client_receives(ws_server: MockServer) -> None:
    """Once the websockets client received a message, conn.sent already holds it."""
    ws_server.handler(greet)
    for _ in range(REPEAT):
        with sync_client(ws_server.url) as ws:
            assert ws.recv(timeout=5) == "hello"
            assert [m.text for m in ws_server.connections[-1].sent] == ["hello"]


@pytest.mark.asyncio
async def test_aiohttp_response_and_sent_recorded_before_client_sees_them(
    ws_server: MockServer,
) -> None:
    """Once aiohttp's ws_connect returned (and received), the 101 (and message) is recorded."""
    ws_server.handler(greet)
    async with aiohttp.ClientSession() as session:
        for _ in range(REPEAT):
            async with session.ws_connect(ws_server.url, autoping=False) as ws:
                conn = ws_server.connections[-1]
                assert conn.response is not None
                assert conn.accepted
                message = await ws.receive(timeout=5)
                assert message.data == "hello"
                assert [m.text for m in ws_server.connections[-1].sent] == ["hello"]
