"""max_message_size: a frame claiming 2**62 bytes gets close 1009 at once and nothing of that
size is allocated; a real message one byte over the limit gets 1009, and the client says so."""

from __future__ import annotations

import asyncio
import struct
import sys

import aiohttp
import pytest
import websocket
import websockets.sync.client
from websockets.exceptions import ConnectionClosedError

from pytest_wsmock import Direction, MockServer

from . import _raw

LIMIT = 1024
TIMEOUT = 3.0

#: How much the process may grow while the server meets a 2**62-byte claim: far less than
#: the claim, and than any buffer sized by it.
MAX_GROWTH = 50 * 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_huge_length_claim_is_refused_without_allocating(ws_server: MockServer) -> None:
    """A frame header claiming 2**62 bytes: close 1009 at once, RSS grows by < 50 MiB."""
    before = _raw.rss_bytes()
    sock = _raw.connect(ws_server.host, ws_server.port)
    with sock:
        sock.sendall(_raw.masked_header(0x2, 2**62) + b"some of the payload")
        # The answer comes without the claimed payload (the socket's timeout bounds the read).
        opcode, payload = _raw.read_frame(sock)
        # No close reply: whatever follows is, for the server, more of the claimed payload.
        # It closes TCP right after its close frame.
        assert _raw.read_until_eof(sock) == b""
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed(TIMEOUT)
    growth = _raw.rss_bytes() - before

    assert opcode == 0x8
    assert struct.unpack("!H", payload[:2])[0] == 1009
    assert growth < MAX_GROWTH, f"RSS grew by {growth / 2**20:.1f} MiB"
    assert info.initiator is Direction.SERVER
    assert (info.server_code, info.client_sent) == (1009, False)
    assert info.tcp_closed_by is Direction.SERVER
    assert [v.kind for v in conn.violations] == ["frame-too-large"]
    assert conn.received == []


@pytest.mark.wsmock(max_message_size=LIMIT)
def test_websockets_one_byte_over_gets_1009(ws_server: MockServer) -> None:
    """websockets: a message of limit + 1 bytes is closed with 1009, which recv() reports."""
    with websockets.sync.client.connect(
        ws_server.url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None, compression=None
    ) as ws:
        ws.send(b"x" * LIMIT)  # exactly at the limit: fine
        ws.send(b"x" * (LIMIT + 1))
        with pytest.raises(ConnectionClosedError) as caught:
            ws.recv(timeout=TIMEOUT)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1009
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed(TIMEOUT)
    assert conn.received_bytes == [b"x" * LIMIT]
    assert info.server_code == 1009
    assert [v.kind for v in conn.violations] == ["frame-too-large"]


@pytest.mark.wsmock(max_message_size=LIMIT)
def test_aiohttp_one_byte_over_gets_1009(ws_server: MockServer) -> None:
    """aiohttp: the oversized message is answered with close 1009, seen as close_code."""

    async def main() -> tuple[aiohttp.WSMsgType, int | None]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session,
            session.ws_connect(ws_server.url, compress=0) as ws,
        ):
            await ws.send_bytes(b"x" * (LIMIT + 1))
            message = await ws.receive(timeout=TIMEOUT)
            return message.type, ws.close_code

    kind, code = asyncio.run(main())
    assert kind is aiohttp.WSMsgType.CLOSE
    assert code == 1009
    assert ws_server.wait_for_connection().wait_closed(TIMEOUT).server_code == 1009


@pytest.mark.wsmock(max_message_size=LIMIT)
def test_websocket_client_one_byte_over_gets_1009(ws_server: MockServer) -> None:
    """websocket-client: the next read returns the server's close frame with 1009."""
    ws = websocket.create_connection(ws_server.url, timeout=TIMEOUT)
    try:
        ws.send_binary(b"x" * (LIMIT + 1))
        opcode, data = ws.recv_data(control_frame=True)
    finally:
        ws.close(timeout=TIMEOUT)
        ws.shutdown()  # type: ignore[no-untyped-call]
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert struct.unpack("!H", data[:2])[0] == 1009
    assert ws_server.wait_for_connection().wait_closed(TIMEOUT).server_code == 1009


@pytest.mark.wsmock(max_message_size=LIMIT)
def test_fragments_adding_up_over_the_limit_get_1009(ws_server: MockServer) -> None:
    """Two fragments each under the limit but together over it: message-too-big, 1009."""
    with _raw.connect(ws_server.host, ws_server.port) as sock:
        half = LIMIT // 2 + 1
        sock.sendall(_raw.masked_header(0x2, half, fin=False) + b"a" * half)
        sock.sendall(_raw.masked_header(0x0, half) + b"b" * half)
        opcode, payload = _raw.read_frame(sock)
        sock.sendall(_raw.close_frame(1009))
        _raw.read_until_eof(sock)
    assert (opcode, struct.unpack("!H", payload[:2])[0]) == (0x8, 1009)
    conn = ws_server.wait_for_connection()
    conn.wait_closed(TIMEOUT)
    assert [v.kind for v in conn.violations] == ["message-too-big"]


def test_bytes_after_a_framing_error_are_accounted_for(ws_server: MockServer) -> None:
    """Bytes that arrive after the server gave up parsing are counted in a note, not lost."""
    sock = _raw.connect(ws_server.host, ws_server.port)
    with sock:
        sock.sendall(_raw.masked_header(0x2, 2**62))
        opcode, _ = _raw.read_frame(sock)
        assert opcode == 0x8
        sock.sendall(b"x" * 1000)  # after the server's close frame: unparseable "payload"
        _raw.read_until_eof(sock)
    conn = ws_server.wait_for_connection()
    conn.wait_closed(TIMEOUT)
    (note,) = [n for n in conn.notes if "read but not parsed" in n]
    assert note.startswith("1000 byte(s) the client sent were read but not parsed")
