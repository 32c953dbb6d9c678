"""What only websockets (asyncio and threading clients) can do: fragment from an iterator and
fragment a compressed message. Everything else runs for it in ``test_scenarios.py``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.sync.client import connect as sync_connect

from pytest_wsmock import Connection, Direction, MockServer, Opcode

from ._clients import Options, websockets_options
from ._support import COMPRESSIBLE_TEXT, TIMEOUT, assert_fragmented

PIECES = [b"aa", b"bb", b"cc", b"dd"]
DEFLATE = Options(deflate=True)


@pytest.mark.asyncio
async def test_fragmented_async_iterable(echo_server: MockServer) -> None:
    """send(async iterable) is fragmented too, and reassembled by the server."""

    async def pieces() -> AsyncIterator[bytes]:
        for piece in PIECES:
            yield piece

    async with connect(echo_server.url, **websockets_options(Options())) as ws:
        await ws.send(pieces())
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == b"aabbccdd"
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    # websockets ends an iterable with an empty final CONTINUATION frame.
    assert_fragmented(conn, PIECES, Opcode.BINARY, empty_final_frame=True)


def test_fragmented_generator(echo_server: MockServer) -> None:
    """send(generator) is fragmented too, and reassembled by the server."""

    def pieces() -> Iterator[bytes]:
        yield from PIECES

    with sync_connect(echo_server.url, **websockets_options(Options())) as ws:
        ws.send(pieces())
        assert ws.recv(timeout=TIMEOUT) == b"aabbccdd"
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_fragmented(conn, PIECES, Opcode.BINARY, empty_final_frame=True)


def _assert_fragmented_and_compressed(conn: Connection) -> None:
    frames = [f for f in conn.frames if f.direction is Direction.CLIENT and f.opcode < 3]
    assert len(frames) >= 2
    assert [f.rsv1 for f in frames] == [True] + [False] * (len(frames) - 1)
    assert [f.fin for f in frames] == [False] * (len(frames) - 1) + [True]
    (message,) = conn.received
    assert message.compressed
    assert message.frames == len(frames)
    assert message.text == COMPRESSIBLE_TEXT


CHUNKS = [COMPRESSIBLE_TEXT[:3000], COMPRESSIBLE_TEXT[3000:]]


@pytest.mark.asyncio
async def test_fragmented_and_compressed_asyncio(echo_server: MockServer) -> None:
    """A fragmented compressed message has RSV1 on its first frame only and is reassembled."""
    async with connect(echo_server.url, **websockets_options(DEFLATE)) as ws:
        await ws.send(CHUNKS)
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == COMPRESSIBLE_TEXT
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    _assert_fragmented_and_compressed(conn)


def test_fragmented_and_compressed_sync(echo_server: MockServer) -> None:
    """The threading client does the same."""
    with sync_connect(echo_server.url, **websockets_options(DEFLATE)) as ws:
        ws.send(CHUNKS)
        assert ws.recv(timeout=TIMEOUT) == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    _assert_fragmented_and_compressed(conn)
