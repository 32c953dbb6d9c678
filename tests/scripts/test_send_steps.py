"""The sending steps of a script, read back by real clients and checked in the frame record."""

from __future__ import annotations

import json

import aiohttp
import pytest
import websockets

from pytest_wsmock import (
    Direction,
    MockServer,
    expect_pong,
    send_binary,
    send_fragmented,
    send_json,
    send_ping,
    send_pong,
    send_text,
)

from ._support import TIMEOUT, script_failure, server_frames, sync_client

#: Compresses well, so a compressed frame is visibly smaller than the text.
REPETITIVE = "tick tock " * 100


def test_send_text_binary_json_sync(ws_server: MockServer) -> None:
    """send_text, send_binary and send_json arrive in order as text, bytes and JSON text."""
    value = {"type": "quote", "prices": [1.5, 2], "ok": True}
    ws_server.script(send_text("welcome"), send_binary(b"\x00\xffdata"), send_json(value))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "welcome"
        assert client.recv(timeout=TIMEOUT) == b"\x00\xffdata"
        assert json.loads(client.recv(timeout=TIMEOUT)) == value
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert [m.value for m in conn.sent] == ["welcome", b"\x00\xffdata", json.dumps(value)]
    assert server_frames(conn.frames) == [
        ("TEXT", True, 7),
        ("BINARY", True, 6),
        ("TEXT", True, len(json.dumps(value))),
    ]


@pytest.mark.asyncio
async def test_send_steps_websockets_asyncio(ws_server: MockServer) -> None:
    """The same steps, read by websockets' asyncio client."""
    ws_server.script(send_text("héllo"), send_binary(b""), send_json([1, None]))
    async with websockets.connect(
        ws_server.url, open_timeout=TIMEOUT, ping_interval=None, proxy=None
    ) as client:
        assert await client.recv() == "héllo"
        assert await client.recv() == b""
        assert json.loads(await client.recv()) == [1, None]
    conn = await ws_server.connection(timeout=TIMEOUT)
    await conn.wait_closed_async(timeout=TIMEOUT)
    assert len(conn.sent) == 3


@pytest.mark.asyncio
async def test_send_steps_aiohttp(ws_server: MockServer) -> None:
    """The same steps, read by aiohttp (receive_str, receive_bytes, receive_json)."""
    ws_server.script(send_text("hi"), send_binary(b"\x01\x02"), send_json({"n": 1}))
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_server.url, timeout=aiohttp.ClientWSTimeout(ws_close=TIMEOUT)) as ws,
    ):
        assert await ws.receive_str(timeout=TIMEOUT) == "hi"
        assert await ws.receive_bytes(timeout=TIMEOUT) == b"\x01\x02"
        assert await ws.receive_json(timeout=TIMEOUT) == {"n": 1}
    conn = await ws_server.connection(timeout=TIMEOUT)
    info = await conn.wait_closed_async(timeout=TIMEOUT)
    assert info.clean


@pytest.mark.parametrize(
    ("message", "sizes", "expected"),
    [
        pytest.param(
            "hello world",
            [3, 4],
            [("TEXT", False, 3), ("CONTINUATION", False, 4), ("CONTINUATION", True, 4)],
            id="text-3-4-rest",
        ),
        pytest.param(
            b"0123456789",
            [0, 4, 6],
            [("BINARY", False, 0), ("CONTINUATION", False, 4), ("CONTINUATION", True, 6)],
            id="binary-0-4-6",
        ),
        pytest.param(
            "café!",
            [4],
            [("TEXT", False, 4), ("CONTINUATION", True, 2)],
            id="utf8-split-inside-a-character",
        ),
        pytest.param(
            b"x" * 70000,
            [65536],
            [("BINARY", False, 65536), ("CONTINUATION", True, 4464)],
            id="64KiB-fragment",
        ),
    ],
)
def test_send_fragmented(
    ws_server: MockServer,
    message: str | bytes,
    sizes: list[int],
    expected: list[tuple[str, bool, int]],
) -> None:
    """send_fragmented writes frames of the given sizes; the client gets one message."""
    ws_server.script(send_fragmented(message, sizes))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == message
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert server_frames(conn.frames) == expected
    (sent,) = conn.sent
    assert (sent.value, sent.frames, sent.compressed) == (message, len(expected), False)


def test_send_fragmented_with_ping_between(ws_server: MockServer) -> None:
    """ping_between puts a ping between fragments; the client answers each."""
    ws_server.script(
        send_fragmented("abcdef", [2, 2], ping_between=b"pb"),
        expect_pong(b"pb"),
        expect_pong(b"pb"),
    )
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "abcdef"
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert server_frames(conn.frames) == [
        ("TEXT", False, 2),
        ("PING", True, 2),
        ("CONTINUATION", False, 2),
        ("PING", True, 2),
        ("CONTINUATION", True, 2),
    ]
    assert conn.pongs == [b"pb", b"pb"]
    assert conn.script_failure is None


@pytest.mark.wsmock(deflate=True)
def test_compressed_and_uncompressed_with_deflate(ws_server: MockServer) -> None:
    """With deflate, sends compress by default (RSV1) and compress=False does not."""
    ws_server.script(
        send_text(REPETITIVE),
        send_text(REPETITIVE, compress=False),
        send_binary(REPETITIVE.encode(), compress=True),
        send_fragmented(REPETITIVE, [5], compress=True),
    )
    with sync_client(ws_server.url, compression="deflate") as client:
        received = [client.recv(timeout=TIMEOUT) for _ in range(4)]
    assert received == [REPETITIVE, REPETITIVE, REPETITIVE.encode(), REPETITIVE]
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert conn.extensions is not None
    assert conn.extensions.startswith("permessage-deflate")
    assert [m.compressed for m in conn.sent] == [True, False, True, True]
    data = [f for f in conn.frames if f.direction is Direction.SERVER and f.opcode in (0, 1, 2)]
    assert [f.rsv1 for f in data] == [True, False, True, True, False]
    assert len(data[0].payload) < len(REPETITIVE) // 10
    assert len(data[1].payload) == len(REPETITIVE)
    assert len(data[3].payload) == 5


def test_compress_true_without_deflate_fails_the_script(ws_server: MockServer) -> None:
    """compress=True without deflate fails the script, saying deflate was not negotiated."""
    ws_server.script(send_text("x", compress=True), send_text("never"))
    with sync_client(ws_server.url) as client:
        text = script_failure(ws_server)
        with pytest.raises(TimeoutError):
            client.recv(timeout=0.2)
    assert ws_server.connections[0].sent == []
    assert "script step 1 of 2, send_text('x', compress=True)" in text
    assert "permessage-deflate was not negotiated" in text


def test_send_ping_is_answered(ws_server: MockServer) -> None:
    """send_ping sends a ping; the client's pong (recorded, checked in strict mode) echoes it."""
    ws_server.script(send_ping(b"are you there"), expect_pong(b"are you there"), send_text("ok"))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "ok"  # sent only after the pong came
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert conn.pongs == [b"are you there"]
    assert server_frames(conn.frames)[0] == ("PING", True, 13)


@pytest.mark.asyncio
async def test_send_pong_reaches_the_client(ws_server: MockServer) -> None:
    """send_pong sends an unsolicited pong, which aiohttp (autoping off) hands to the app."""
    ws_server.script(send_pong(b"unsolicited"), send_ping(b"p"))
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_server.url, autoping=False) as ws,
    ):
        pong = await ws.receive(timeout=TIMEOUT)
        assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"unsolicited")
        ping = await ws.receive(timeout=TIMEOUT)
        assert (ping.type, ping.data) == (aiohttp.WSMsgType.PING, b"p")
        await ws.pong(ping.data)
    conn = await ws_server.connection(timeout=TIMEOUT)
    await conn.wait_closed_async(timeout=TIMEOUT)
    assert server_frames(conn.frames)[:2] == [("PONG", True, 11), ("PING", True, 1)]
    assert conn.pongs == [b"p"]
