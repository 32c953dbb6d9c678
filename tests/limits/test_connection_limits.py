"""max_header_size (431), max_connections (503 for the one too many) and idle_timeout (1001),
seen from real clients and from a raw socket."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from typing import Any

import aiohttp
import pytest
import websocket
import websockets.sync.client
from websockets.exceptions import ConnectionClosedOK, InvalidStatus

from pytest_wsmock import Direction, MockServer, ServerFactory

from . import _raw

TIMEOUT = 3.0
IDLE = 0.3


def _connect(server: MockServer, **options: Any) -> websockets.sync.client.ClientConnection:
    """websockets' sync client with bounded timeouts (use it in a ``with`` block)."""
    connection: websockets.sync.client.ClientConnection = websockets.sync.client.connect(
        server.url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None, **options
    )
    return connection


# -- max_header_size ----------------------------------------------------------------------------


def test_header_block_over_the_default_gets_431(ws_server: MockServer) -> None:
    """A raw request whose header block is over 64 KiB gets 431 and no upgrade."""
    with socket.create_connection((ws_server.host, ws_server.port), timeout=TIMEOUT) as sock:
        big = "".join(f"X-Filler-{i}: {'a' * 1000}\r\n" for i in range(70))
        sock.sendall(_raw.request(ws_server.host, ws_server.port, big))
        head = _raw.read_response_head(sock)
    assert _raw.status_of(head) == 431, head
    conn = ws_server.wait_for_connection()
    assert conn.response is not None
    assert conn.response.status == 431
    assert not conn.accepted
    assert [v.kind for v in conn.violations] == ["headers-too-large"]


@pytest.mark.wsmock(max_header_size=1024)
def test_client_with_big_headers_sees_431(ws_server: MockServer) -> None:
    """websockets with a 2 KB header against max_header_size=1024: InvalidStatus 431."""
    with (
        pytest.raises(InvalidStatus) as caught,
        _connect(ws_server, additional_headers={"X-Big": "b" * 2048}),
    ):
        pass
    assert caught.value.response.status_code == 431
    assert ws_server.wait_for_connection().response is not None


# -- max_connections ----------------------------------------------------------------------------


def test_one_connection_too_many_gets_503(ws_server_factory: ServerFactory) -> None:
    """With max_connections=2, a third connection gets 503 while two are open; after one
    closes, a new one gets in."""
    server = ws_server_factory(max_connections=2)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_connect(server))
        second = stack.enter_context(_connect(server))
        with pytest.raises(InvalidStatus) as caught, _connect(server):
            pass
        assert caught.value.response.status_code == 503
        assert caught.value.response.headers["Retry-After"] == "1"
        second.close()
        server.wait_for_connection(1).wait_closed(TIMEOUT)
        with _connect(server) as again:
            again.send("in")
    first, _, refused, accepted = server.connections
    assert first.accepted
    assert refused.response is not None
    assert refused.response.status == 503
    assert refused.notes == ["max_connections: 2 connection(s) were open (limit 2); answered 503"]
    assert accepted.accepted
    accepted.wait_closed(TIMEOUT)
    assert accepted.received_texts == ["in"]


# -- idle_timeout -------------------------------------------------------------------------------


@pytest.mark.wsmock(idle_timeout=IDLE)
def test_idle_websockets(ws_server: MockServer) -> None:
    """websockets, silent: after idle_timeout the server closes with 1001 'idle timeout'."""
    with _connect(ws_server) as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosedOK) as caught:
            ws.recv(timeout=TIMEOUT)
        waited = time.monotonic() - started
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (1001, "idle timeout")
    assert IDLE * 0.8 <= waited < IDLE + 1.0
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed(TIMEOUT)
    assert (info.initiator, info.server_code, info.server_reason) == (
        Direction.SERVER,
        1001,
        "idle timeout",
    )
    assert info.clean  # the client answered the close
    assert any(
        note.startswith(f"idle_timeout: the client sent nothing for {IDLE} s")
        for note in conn.notes
    )
    assert conn.violations == []


@pytest.mark.wsmock(idle_timeout=IDLE)
def test_idle_aiohttp(ws_server: MockServer) -> None:
    """aiohttp, silent: receive() returns the CLOSE message with 1001 'idle timeout'."""

    async def main() -> tuple[aiohttp.WSMsgType, object, str | None, int | None]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session,
            session.ws_connect(ws_server.url) as ws,
        ):
            message = await ws.receive(timeout=TIMEOUT)
            return message.type, message.data, message.extra, ws.close_code

    kind, data, extra, code = asyncio.run(main())
    assert (kind, data, extra, code) == (aiohttp.WSMsgType.CLOSE, 1001, "idle timeout", 1001)
    assert ws_server.wait_for_connection().wait_closed(TIMEOUT).server_code == 1001


@pytest.mark.wsmock(idle_timeout=IDLE)
def test_idle_websocket_client(ws_server: MockServer) -> None:
    """websocket-client, silent: the next read returns the close frame, 1001 'idle timeout'."""
    ws = websocket.create_connection(ws_server.url, timeout=TIMEOUT)
    try:
        opcode, data = ws.recv_data(control_frame=True)
    finally:
        ws.close(timeout=TIMEOUT)
        ws.shutdown()  # type: ignore[no-untyped-call]
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert struct.unpack("!H", data[:2])[0] == 1001
    assert data[2:] == b"idle timeout"
    assert ws_server.wait_for_connection().wait_closed(TIMEOUT).server_code == 1001


@pytest.mark.wsmock(idle_timeout=IDLE)
def test_a_talking_client_is_not_idle(ws_server: MockServer) -> None:
    """Each message restarts the idle clock: a client that speaks every IDLE/3 s stays open."""
    with _connect(ws_server) as ws:
        for index in range(6):  # 2 * IDLE in all
            ws.send(f"tick {index}")
            time.sleep(IDLE / 3)
        ws.send("bye")
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed(TIMEOUT)
    assert info.initiator is Direction.CLIENT
    assert len(conn.received_texts) == 7
    assert not any(note.startswith("idle_timeout") for note in conn.notes)
