"""What only wsproto does here: fragments cut inside non-ASCII text, dropping TCP without a
close frame, and deflate parameters. Everything else runs for it in ``test_scenarios.py``."""

from __future__ import annotations

import socket

import pytest
from wsproto.events import TextMessage
from wsproto.extensions import PerMessageDeflate

from pytest_wsmock import Direction, MockServer, Opcode

from ._clients import message_event
from ._support import COMPRESSIBLE_TEXT, assert_fragmented, frames_of
from ._wsproto import wsproto_open


def test_fragmented_non_ascii_text(echo_server: MockServer) -> None:
    """Non-ASCII text sent in fragments is reassembled byte-exact and raises no violation."""
    text = "héllo wörld ✓"
    with wsproto_open(echo_server.url) as client:
        client.send(TextMessage(data=text[:3], message_finished=False))
        client.send(TextMessage(data=text[3:], message_finished=True))
        assert client.receive_message() == text
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.received_texts == [text]
    assert conn.violations == []
    assert_fragmented(conn, [text[:3].encode(), text[3:].encode()], Opcode.TEXT)


@pytest.mark.wsmock(strict=False)
def test_client_drops_tcp_without_close_frame(echo_server: MockServer) -> None:
    """A client that closes TCP without a close frame is recorded as an unclean end and as a
    no-closing-handshake violation."""
    with wsproto_open(echo_server.url) as client:
        client.send(message_event("hello"))
        assert client.receive_message() == "hello"
        client.sock.shutdown(socket.SHUT_WR)
        rest = b""
        while chunk := client.sock.recv(65536):
            rest += chunk
        client.eof = True
    # Whatever the server still writes to the half-closed client is at most one close frame.
    assert rest == b"" or (rest[0] == 0x88 and len(rest) == 2 + rest[1]), rest
    conn = echo_server.wait_for_connection()
    info = conn.wait_closed()
    assert not info.client_sent
    assert info.client_code is None
    assert info.tcp_closed_by is Direction.CLIENT, str(info)
    assert info.tcp_end == "fin"
    assert not info.clean
    assert frames_of(conn, Direction.CLIENT, Opcode.CLOSE) == []
    assert conn.received_texts == ["hello"]
    assert [v.kind for v in conn.violations] == ["no-closing-handshake"]


def test_permessage_deflate_no_context_takeover(echo_server: MockServer) -> None:
    """Offered no_context_takeover and window bits are honoured over several messages."""
    extension = PerMessageDeflate(
        client_no_context_takeover=True,
        client_max_window_bits=10,
        server_no_context_takeover=True,
        server_max_window_bits=10,
    )
    with wsproto_open(echo_server.url, extensions=[extension]) as client:
        assert client.accept is not None
        for _ in range(3):
            client.send(message_event(COMPRESSIBLE_TEXT))
            assert client.receive_message() == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.extensions is not None
    assert "server_no_context_takeover" in conn.extensions
    assert "server_max_window_bits=10" in conn.extensions
    assert conn.received_texts == [COMPRESSIBLE_TEXT] * 3
    assert all(m.compressed for m in conn.messages)
    assert len(conn.sent) == 3
