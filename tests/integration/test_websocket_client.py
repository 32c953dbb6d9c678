"""What only websocket-client does here: raw frames (a ping between fragments, a split UTF-8
character), ``recv()`` returning "" on a close, Origin suppressed, and text sent as given in the
transcript. Everything else runs for it in ``test_scenarios.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import websocket
from websocket import ABNF

from pytest_wsmock import Direction, MockServer, Opcode

from ._support import (
    SERVER_CLOSE_CODE,
    TIMEOUT,
    assert_client_ping_answered,
    assert_fragmented,
    close_4001_after_first_message,
)


@contextmanager
def _connect(url: str, **options: Any) -> Iterator[websocket.WebSocket]:
    """A connection whose every socket operation times out after TIMEOUT; closed at exit.

    After answering a server's close frame, websocket-client marks itself disconnected but
    leaves its socket open (the server then waits ``close_timeout`` for the FIN), so the
    socket is shut down explicitly.
    """
    ws = websocket.create_connection(url, timeout=TIMEOUT, **options)
    try:
        yield ws
    finally:
        if ws.connected:
            ws.close(timeout=TIMEOUT)
        ws.shutdown()  # type: ignore[no-untyped-call]


def _recv(ws: websocket.WebSocket) -> str | bytes:
    """The next data message, checked to be text or binary (recv() returns "" on a close)."""
    opcode, data = ws.recv_data()
    assert opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY), (opcode, data)
    return data.decode("utf-8") if opcode == ABNF.OPCODE_TEXT else bytes(data)


def test_fragmented_with_ping_in_between(echo_server: MockServer) -> None:
    """A ping between the fragments of a message is answered and does not break reassembly."""
    with _connect(echo_server.url) as ws:
        ws.send_frame(ABNF.create_frame(b"first ", ABNF.OPCODE_TEXT, fin=0))
        ws.ping(b"mid")
        ws.send_frame(ABNF.create_frame(b"second", ABNF.OPCODE_CONT, fin=1))
        opcode, data = ws.recv_data(control_frame=True)
        assert (opcode, data) == (ABNF.OPCODE_PONG, b"mid")
        assert _recv(ws) == "first second"
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_fragmented(conn, [b"first ", b"second"], Opcode.TEXT)
    assert_client_ping_answered(conn, b"mid")


def test_fragment_boundary_inside_a_utf8_character(echo_server: MockServer) -> None:
    """A text message split in the middle of a multi-byte character is valid and reassembled."""
    raw = "héllo ✓".encode()
    cut = raw.index(b"\xc3") + 1  # between the two bytes of "é"
    with _connect(echo_server.url) as ws:
        ws.send_frame(ABNF.create_frame(raw[:cut], ABNF.OPCODE_TEXT, fin=0))
        ws.send_frame(ABNF.create_frame(raw[cut:], ABNF.OPCODE_CONT, fin=1))
        assert _recv(ws) == "héllo ✓"
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.violations == []
    assert_fragmented(conn, [raw[:cut], raw[cut:]], Opcode.TEXT)
    assert conn.received_texts == ["héllo ✓"]


def test_server_close_makes_recv_return_empty(ws_server: MockServer) -> None:
    """Plain recv() returns "" when the server closes (websocket-client's documented quirk)."""
    ws_server.handler(close_4001_after_first_message)
    with _connect(ws_server.url) as ws:
        ws.send("hello")
        assert ws.recv() == ""
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    assert info.initiator is Direction.SERVER
    assert info.server_code == SERVER_CLOSE_CODE
    assert info.client_sent


def test_request_custom_origin(echo_server: MockServer) -> None:
    """origin= replaces the default Origin, and suppress_origin=True drops it."""
    with _connect(echo_server.url, origin="https://app.example"):
        pass
    with _connect(echo_server.url_for("/quiet"), suppress_origin=True):
        pass
    first = echo_server.wait_for_connection()
    second = echo_server.wait_for_connection()
    first.wait_closed()
    second.wait_closed()
    assert first.request is not None
    assert first.request.origin == "https://app.example"
    assert second.request is not None
    assert second.request.path == "/quiet"
    assert second.request.origin is None


def test_json_in_the_transcript_is_marked_only_when_compacted(echo_server: MockServer) -> None:
    """websocket-client sends text as given (it has no permessage-deflate): JSON already
    compact is shown as sent; JSON with spaces is shown compact, marked; other text quoted."""
    with _connect(echo_server.url) as ws:
        for text in ('{"op":"ping"}', '{"op": "ping"}', "op ping"):
            ws.send(text)
            assert _recv(ws) == text
    conn = echo_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    lines = [line for line in conn.transcript().splitlines() if "client -> server  TEXT " in line]
    assert [line.rpartition(" B  ")[2] for line in lines] == [
        '{"op":"ping"}',
        '(compacted) {"op":"ping"}',
        "'op ping'",
    ]
