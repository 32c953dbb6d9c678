"""Closing from the server's side: a raw close frame starts the closing handshake, and
``close_all`` / ``send_close`` end connections whatever their clients do."""

from __future__ import annotations

import threading

import pytest
from websockets.exceptions import ConnectionClosed

from pytest_wsmock import CloseInfo, Direction, MockServer, Opcode, WebSocket
from pytest_wsmock._protocol import build_close_payload

from ..compliance._raw import RawClient, handshake_request
from ..scripts._support import sync_client

#: Generous bound on any wait here: the outcomes, not the timing, are what is checked.
WAIT = 10.0


@pytest.mark.wsmock(close_timeout=0.3, strict=False)
def test_raw_close_frame_then_close_sends_one_close_frame(ws_server: MockServer) -> None:
    """A close frame sent with send_control starts closing: close() sends no second one."""
    done = threading.Event()

    async def handler(ws: WebSocket) -> None:
        await ws.send_control(Opcode.CLOSE, build_close_payload(1000, ""))
        await ws.close()
        done.set()

    ws_server.handler(handler)
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        # A silent client: it reads what comes and never answers.
        assert client.read_frame(timeout=WAIT).opcode == Opcode.CLOSE
        conn = ws_server.wait_for_connection()
        conn.wait_closed(timeout=WAIT)
        assert done.wait(WAIT)
    closes = [f for f in conn.frames if f.opcode_name == "CLOSE"]
    assert [f.direction for f in closes] == [Direction.SERVER]
    assert conn.closed
    assert conn.close is not None
    assert conn.close.server_code == 1000
    assert not conn.close.client_sent
    assert [v.kind for v in conn.violations] == ["no-close-reply"]


@pytest.mark.wsmock(close_timeout=0.3, timeout=3)
def test_close_all_with_a_client_that_does_not_read(ws_server: MockServer) -> None:
    """close_all() with a non-reading client and a normal one returns two CloseInfo."""
    flooded = threading.Event()

    async def handler(ws: WebSocket) -> None:
        if ws.request.path == "/flood":
            # Fill the silent client's receive buffer: this send blocks.
            flooded.set()
            while True:
                await ws.send_binary(b"x" * 2**20)
        async for _ in ws:
            pass

    ws_server.handler(handler)
    with RawClient.open(
        ws_server.host,
        ws_server.port,
        handshake_request(ws_server.host, ws_server.port, path="/flood"),
    ):
        silent_conn = ws_server.wait_for_connection(0)
        assert flooded.wait(WAIT)
        with sync_client(ws_server.url_for("/normal"), close_timeout=WAIT) as ws:
            normal_conn = ws_server.wait_for_connection(1)
            infos = ws_server.close_all()
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=WAIT)
    assert len(infos) == 2
    assert all(isinstance(info, CloseInfo) for info in infos)
    assert silent_conn.closed
    assert normal_conn.closed
    assert normal_conn.close is not None
    assert normal_conn.close.server_code == 1000


def test_send_close_on_a_connection_the_client_closed(ws_server: MockServer) -> None:
    """send_close() after the client closed returns how it ended, without raising."""
    with sync_client(ws_server.url) as ws:
        ws.send("bye")
    conn = ws_server.wait_for_connection()
    ended = conn.wait_closed(timeout=WAIT)
    info = conn.send_close()
    assert info == ended
    assert info.initiator == Direction.CLIENT


def test_send_close_after_the_clients_close_frame(ws_server: MockServer) -> None:
    """send_close() after the client's close frame (TCP still open) returns its CloseInfo."""
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        client.send_close(1001)
        assert client.read_close(timeout=WAIT).close_code == 1001
        conn = ws_server.wait_for_connection()
        info = conn.send_close()
        assert info.initiator == Direction.CLIENT
        assert info.client_code == 1001
    assert [f.direction for f in conn.frames if f.opcode_name == "CLOSE"] == [
        Direction.CLIENT,
        Direction.SERVER,
    ]
