"""Findings of the review of the engine redesign, each proven over loopback on both backends."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable

import anyio
import pytest
import websockets
import websockets.sync.client

from pytest_wsmock import (
    CloseInfo,
    Fault,
    Handshake,
    Opcode,
    ServerFactory,
    WebSocket,
    close,
    expect_text,
    send_frame,
    send_text,
    wait,
)
from pytest_wsmock._protocol import encode_frame

from ..compliance._raw import MASK_KEY, RawClient, handshake_request

BACKENDS = ["asyncio", "trio"]


def _returns_within(seconds: float, call: Callable[[], object]) -> object:
    """Run ``call`` in a thread; fail (instead of hanging) when it does not return in time."""
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    return result.get("value")


@pytest.mark.parametrize("backend", BACKENDS)
def test_send_close_on_a_rejected_connection_returns(
    ws_server_factory: ServerFactory, backend: str
) -> None:
    """send_close() on a connection whose handshake was rejected returns how it ended."""
    server = ws_server_factory(backend=backend, close_timeout=0.5)
    server.handshake(Handshake.reject(503))
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(handshake_request(server.host, server.port))
        conn = server.wait_for_connection()
        assert not conn.accepted
        info = _returns_within(8, conn.send_close)
    assert isinstance(info, CloseInfo)


@pytest.mark.parametrize("backend", BACKENDS)
def test_send_close_with_a_handler_still_sleeping_returns(
    ws_server_factory: ServerFactory, backend: str
) -> None:
    """The record says closed when the connection ends, not when a sleeping handler returns."""
    server = ws_server_factory(backend=backend, timeout=3.0)

    @server.handler
    async def keep_open(ws: WebSocket) -> None:
        await ws.send_text("hi")
        await anyio.sleep(20)

    with websockets.sync.client.connect(server.url, open_timeout=5) as client:
        assert client.recv(timeout=5) == "hi"
        conn = server.wait_for_connection()
        info = conn.send_close(1000)
    assert info.server_code == 1000
    assert info.client_sent


@pytest.mark.parametrize("backend", BACKENDS)
def test_wait_closed_while_a_script_waits(ws_server_factory: ServerFactory, backend: str) -> None:
    """A client that closes while the script sits in wait(6) ends the connection at once."""
    server = ws_server_factory(backend=backend, timeout=3.0)
    server.script(wait(6))
    with websockets.sync.client.connect(server.url, open_timeout=5):
        conn = server.wait_for_connection()
    info = conn.wait_closed(timeout=3)
    assert info.client_sent
    assert info.server_sent


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_frame_inside_a_trickled_101(ws_server_factory: ServerFactory, backend: str) -> None:
    """A frame sent from the test while the 101 still trickles out comes after it, whole."""
    server = ws_server_factory(backend=backend, strict=False)
    server.handshake(Handshake.accept().trickled(8, 0.02))
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(handshake_request(server.host, server.port))
        conn = server.wait_for_connection()
        conn.send_text("EARLY")
        sock.settimeout(3)
        data = b""
        while b"EARLY" not in data:
            chunk = sock.recv(4096)
            assert chunk, f"the server closed before the frame came: {data!r}"
            data += chunk
    head, _, frames = data.partition(b"\r\n\r\n")
    assert b"EARLY" not in head
    assert frames == b"\x81\x05EARLY"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gap", [None, 0.3], ids=["one-segment", "apart"])
def test_a_wrong_message_fails_however_tcp_splits_it(
    ws_server_factory: ServerFactory, backend: str, gap: float | None
) -> None:
    """After a deliberate break, a wrong message still fails the script, close or no close."""
    server = ws_server_factory(backend=backend, strict=False)
    server.script(send_frame(Opcode.TEXT, b"hi", rsv2=True), expect_text("x"))
    text = encode_frame(Opcode.TEXT, b"y", mask_key=MASK_KEY)
    close = encode_frame(Opcode.CLOSE, struct.pack("!H", 1002), mask_key=MASK_KEY)
    with RawClient.connect(server.host, server.port) as client:
        client.read_frame()
        time.sleep(0.2)  # the script now waits in expect_text
        if gap is None:
            client.send_raw(text + close)
        else:
            client.send_raw(text)
            time.sleep(gap)
            client.send_raw(close)
        client.read_close()
        conn = server.wait_for_connection()
        with pytest.raises(AssertionError):
            conn.wait_closed()  # the script's failure ends the wait at once
    assert conn.script_failure is not None
    assert "expected 'x', got text 'y'" in conn.script_failure


@pytest.mark.parametrize("backend", BACKENDS)
def test_tls_handshake_timeout_is_recorded_as_a_timeout(
    ws_server_factory: ServerFactory, backend: str
) -> None:
    """A client that sends no ClientHello: tls_error names handshake_timeout."""
    server = ws_server_factory(tls=True, backend=backend, handshake_timeout=0.5, strict=False)
    with socket.create_connection((server.host, server.port)):
        conn = server.wait_for_connection(timeout=5)
        conn.wait_closed(timeout=5)
    assert "handshake_timeout" in (conn.tls_error or "")


@pytest.mark.parametrize("backend", BACKENDS)
def test_close_all_after_a_half_close_is_bounded(
    ws_server_factory: ServerFactory, backend: str
) -> None:
    """close_all() on a half-closed connection whose client never closes returns anyway."""
    server = ws_server_factory(backend=backend, timeout=2.0, close_timeout=0.5, strict=False)
    server.script(Fault.half_close())
    with RawClient.connect(server.host, server.port):
        conn = server.wait_for_connection()
        time.sleep(0.3)
        infos = _returns_within(8, server.close_all)
    assert isinstance(infos, list)
    assert len(infos) == 1
    assert conn.closed
    assert any("did not close TCP within" in note for note in conn.notes), conn.notes


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_scripted_close_does_not_wait_on_itself(
    ws_server_factory: ServerFactory, backend: str
) -> None:
    """close() as a script step returns when the connection ends, not after close_timeout:
    with a 30 s close_timeout the record is final well within a 5 s wait."""
    server = ws_server_factory(backend=backend, close_timeout=30)
    server.script(send_text("hi"), close(1000))
    with websockets.sync.client.connect(server.url, open_timeout=5, close_timeout=5) as client:
        assert client.recv(timeout=5) == "hi"
        with pytest.raises(websockets.ConnectionClosedOK):
            client.recv(timeout=5)
    conn = server.wait_for_connection()
    info = conn.wait_closed(timeout=5)
    assert info.server_code == 1000
    assert conn.script is not None
    assert conn.script.done
