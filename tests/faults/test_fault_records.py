"""What the record says about faults, beyond the client matrix: half-close keeps reading,
stop-reading makes the client's sends wait, notes time-stamp where each fault fired."""

from __future__ import annotations

import re
import time

import pytest
import websocket
import websockets.sync.client
from websockets.exceptions import ConnectionClosedError

from pytest_wsmock import (
    TRANSPORT_FAULTS,
    Direction,
    Fault,
    MockServer,
    expect_text,
    send_text,
)

TIMEOUT = 2.0


def test_half_close_keeps_reading(ws_server: MockServer) -> None:
    """After the server's FIN, what the client still sends is recorded; its read sees the end."""
    ws_server.script(send_text("hi"), Fault.half_close())
    ws = websocket.create_connection(ws_server.url, timeout=TIMEOUT)
    try:
        assert ws.recv() == "hi"
        ws.send("still here")  # the client's sending side is still open
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            ws.recv()
    finally:
        ws.shutdown()  # type: ignore[no-untyped-call]
    conn = ws_server.wait_for_connection()
    conn.wait_for_messages(1, timeout=TIMEOUT)
    info = conn.wait_closed(TIMEOUT)
    assert conn.received_texts == ["still here"]
    assert info.tcp_closed_by is Direction.SERVER
    assert not info.client_sent
    assert not info.server_sent


def test_stop_reading_makes_client_sends_wait(ws_server: MockServer) -> None:
    """While the server does not read, a 16 MiB send fills the kernel buffers and waits; it
    completes when reading resumes, and the server records the message intact."""
    pause = 0.5
    big = b"x" * (16 * 2**20)
    ws_server.script(Fault.stop_reading(pause), send_text("reading paused"))
    with websockets.sync.client.connect(
        ws_server.url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None, compression=None
    ) as ws:
        assert ws.recv(timeout=TIMEOUT) == "reading paused"
        started = time.monotonic()
        ws.send(big)
        waited = time.monotonic() - started
    conn = ws_server.wait_for_connection()
    conn.wait_closed(TIMEOUT)
    assert conn.received_bytes == [big]
    # The send returned only once the server read again (connection time + pause).
    assert waited >= pause * 0.5, waited


def test_stall_delays_what_follows(ws_server: MockServer) -> None:
    """A stall holds the next message back for its duration, then the conversation goes on."""
    ws_server.script(send_text("a"), Fault.stall(0.3), send_text("b"), expect_text("done"))
    with websockets.sync.client.connect(
        ws_server.url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None
    ) as ws:
        assert ws.recv(timeout=TIMEOUT) == "a"
        started = time.monotonic()
        assert ws.recv(timeout=TIMEOUT) == "b"
        assert time.monotonic() - started >= 0.25
        ws.send("done")
    conn = ws_server.wait_for_connection()
    assert conn.wait_closed(TIMEOUT).clean
    assert conn.received_texts == ["done"]


def test_reset_is_recorded_as_rst(ws_server: MockServer) -> None:
    """Fault.reset ends the connection with RST: websocket-client sees a reset, the record too."""
    ws_server.script(send_text("hi"), Fault.reset())
    ws = websocket.create_connection(ws_server.url, timeout=TIMEOUT)
    try:
        assert ws.recv() == "hi"
        with pytest.raises(ConnectionResetError):
            ws.recv()
    finally:
        ws.shutdown()  # type: ignore[no-untyped-call]
    info = ws_server.wait_for_connection().wait_closed(TIMEOUT)
    assert (info.tcp_closed_by, info.tcp_end) == (Direction.SERVER, "rst")


def test_close_then_drop_sends_close_and_fin(ws_server: MockServer) -> None:
    """close_then_drop(4000): the client sees code 4000, though no closing handshake finished."""
    ws_server.script(send_text("hi"), Fault.close_then_drop(4000))
    with websockets.sync.client.connect(
        ws_server.url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None
    ) as ws:
        assert ws.recv(timeout=TIMEOUT) == "hi"
        with pytest.raises(ConnectionClosedError):
            ws.recv(timeout=TIMEOUT)
        # The close frame arrived, but TCP ended before the handshake completed.
        assert ws.close_code == 4000
    info = ws_server.wait_for_connection().wait_closed(TIMEOUT)
    assert (info.server_sent, info.server_code, info.client_sent) == (True, 4000, False)


@pytest.mark.parametrize("fault", TRANSPORT_FAULTS)
def test_fault_note_says_when_it_fired(ws_server: MockServer, fault: Fault) -> None:
    """Each fault leaves one note with its id, the time since accept and what the server did."""
    ws_server.script(send_text("x"), fault)
    ws = websocket.create_connection(ws_server.url, timeout=TIMEOUT)
    try:
        assert ws.recv() == "x"
        conn = ws_server.wait_for_connection()
        deadline = time.monotonic() + TIMEOUT
        while not conn.notes and time.monotonic() < deadline:
            time.sleep(0.01)
        ws.close(timeout=0.5)
    finally:
        ws.shutdown()  # type: ignore[no-untyped-call]
    (note,) = [n for n in conn.notes if n.startswith(f"fault {fault.id} fired")]
    match = re.fullmatch(rf"fault {re.escape(fault.id)} fired at \+(\d+\.\d{{4}})s: (.*)", note)
    assert match, note
    assert 0 <= float(match.group(1)) < TIMEOUT
    assert match.group(2) == f"the server {fault.description}"
    assert f"fault {fault.id} fired" in conn.transcript()
