"""What only aiohttp shows: the server's ping handed over with autoping off, and compressed
JSON in the transcript. Everything else runs for it in ``test_scenarios.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from pytest_wsmock import MockServer

from ._support import TIMEOUT, assert_server_ping_answered, ping_then_echo

pytestmark = pytest.mark.asyncio


@asynccontextmanager
async def _ws_connect(
    url: str, **kwargs: Any
) -> AsyncIterator[aiohttp.ClientWebSocketResponse[bool]]:
    """A session and a WebSocket connection with every timeout bounded."""
    timeout = aiohttp.ClientWSTimeout(ws_receive=TIMEOUT, ws_close=TIMEOUT)
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=TIMEOUT)) as s,
        s.ws_connect(url, timeout=timeout, **kwargs) as ws,
    ):
        yield ws


async def test_server_ping_seen_with_autoping_off(ws_server: MockServer) -> None:
    """With autoping off, aiohttp hands the server's ping to the test, which pongs by hand."""
    ws_server.handler(ping_then_echo)
    async with _ws_connect(ws_server.url, autoping=False) as ws:
        message = await ws.receive(timeout=TIMEOUT)
        assert message.type is aiohttp.WSMsgType.PING
        assert message.data == b"x"
        await ws.pong(message.data)
        message = await ws.receive(timeout=TIMEOUT)
        assert (message.type, message.data) == (aiohttp.WSMsgType.TEXT, "pinged")
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert_server_ping_answered(conn)


async def test_compressed_json_reads_decoded_in_the_transcript(echo_server: MockServer) -> None:
    """aiohttp with compress=15: both directions' frames are compressed on the wire, and the
    transcript shows them decoded, as compact JSON, with their size on the wire."""
    value = {"type": "subscribe", "payload": {"channel": "orders", "filter": "x" * 40}}
    async with _ws_connect(echo_server.url, compress=15) as ws:
        await ws.send_json(value)  # json.dumps with its default separators
        assert (await ws.receive_json(timeout=TIMEOUT)) == value
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    data = [f for f in conn.frames if not f.is_control]
    assert [f.rsv1 for f in data] == [True, True]
    lines = [line for line in conn.transcript().splitlines() if " TEXT " in line]
    compact = '{"type":"subscribe","payload":{"channel":"orders","filter":"' + "x" * 40 + '"}}'
    for frame, line in zip(data, lines, strict=True):
        assert line.endswith(
            f"(deflate, {len(frame.payload)} B on the wire)  (compacted) {compact}"
        )
