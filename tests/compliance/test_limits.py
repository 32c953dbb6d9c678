"""The server's limits (max_message_size, max_header_size): over them, the client gets 1009 or
431 and the record says so, but strict mode does not fail the test: a limit is the test
author's choice, not a rule the client broke."""

from __future__ import annotations

import pytest

from pytest_wsmock import LIMIT_KINDS, MockServer, Opcode

from ._checks import (
    assert_recorded,
    assert_strict_fails,
    assert_strict_passes,
    closed_connection,
)
from ._raw import RawClient, handshake_request

LIMIT = 1024
TOO_BIG = "RFC 6455 section 10.4"


def test_limit_kinds_are_documented_names() -> None:
    """The five limit kinds are exactly the ones strict mode lets pass."""
    assert {
        "frame-too-large",
        "message-too-big",
        "headers-too-large",
        "request-line-too-long",
        "record-too-large",
    } == set(LIMIT_KINDS)


@pytest.mark.wsmock(max_message_size=LIMIT)
def test_message_at_the_limit_is_fine(server: MockServer) -> None:
    """A message of exactly max_message_size bytes is accepted."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.BINARY, b"x" * LIMIT)
        client.send_close(1000)
        assert client.read_close().close_code == 1000
        client.read_eof()
    conn = closed_connection(server)
    assert conn.received_bytes == [b"x" * LIMIT]
    assert conn.violations == []


@pytest.mark.wsmock(max_message_size=LIMIT)
def test_oversized_frame(server: MockServer) -> None:
    """A frame over max_message_size gets close 1009 and is recorded, but strict passes."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.TEXT, b"x" * (LIMIT + 1))
        close = client.read_close()
        assert (close.close_code, close.close_reason) == (1009, "frame-too-large")
        assert client.read_eof() == b""
    conn = closed_connection(server)
    violation = assert_recorded(conn, "frame-too-large", TOO_BIG)
    assert f"{LIMIT + 1}-byte payload" in violation.detail
    assert conn.received == []
    assert_strict_passes(server)


@pytest.mark.wsmock(max_message_size=LIMIT)
def test_oversized_claimed_length_is_never_read(server: MockServer) -> None:
    """A header claiming 1 TiB gets 1009 as soon as the length is read, without the payload."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.BINARY, b"", length=2**40)  # header only: no payload follows
        assert client.read_close(timeout=2).close_code == 1009
        client.read_eof()
    conn = closed_connection(server)
    assert_recorded(conn, "frame-too-large", TOO_BIG)
    assert_strict_passes(server)


@pytest.mark.wsmock(max_message_size=LIMIT)
def test_oversized_fragmented_message(server: MockServer) -> None:
    """Fragments that each fit but add up to more than the limit get 1009 (message-too-big)."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.TEXT, b"a" * 600, fin=False)
        client.send_frame(Opcode.CONTINUATION, b"b" * 600)
        close = client.read_close()
        assert (close.close_code, close.close_reason) == (1009, "message-too-big")
        client.read_eof()
    conn = closed_connection(server)
    violation = assert_recorded(conn, "message-too-big", TOO_BIG)
    assert f"over the limit of {LIMIT}" in violation.detail
    assert conn.received == []
    assert_strict_passes(server)


@pytest.mark.wsmock(max_header_size=LIMIT)
def test_oversized_header_block(server: MockServer) -> None:
    """A request head over max_header_size gets HTTP 431, is recorded, and strict passes."""
    request = handshake_request(server.host, server.port, X_Padding="p" * 2000)
    with RawClient.open(server.host, server.port, request) as client:
        response = client.read_response()
        client.read_eof()
    assert response.status == 431
    conn = closed_connection(server)
    assert conn.response is not None
    assert conn.response.status == 431
    assert not conn.accepted
    assert_recorded(conn, "headers-too-large", "RFC 6585 section 5")
    assert_strict_passes(server)


def test_overlong_request_line(server: MockServer) -> None:
    """A request line over 8 KiB gets HTTP 414, is recorded, and strict passes."""
    request = handshake_request(server.host, server.port, path="/" + "a" * 9000)
    with RawClient.open(server.host, server.port, request) as client:
        response = client.read_response()
        client.read_eof()
    assert response.status == 414
    conn = closed_connection(server)
    assert_recorded(conn, "request-line-too-long", "RFC 9112 section 3")
    assert_strict_passes(server)


@pytest.mark.wsmock(max_message_size=LIMIT)
def test_limit_and_violation_together(server: MockServer) -> None:
    """Strict mode fails for the client's fault, and lists only that, not the limit."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.TEXT, b"x" * (LIMIT + 1))
        client.read_close()
        client.read_eof()
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.TEXT, b"x", masked=False)
        client.read_close()
        client.read_eof()
    server.wait_for_connection(1, timeout=5).wait_closed(timeout=5)
    assert [v.kind for _, v in server.violations] == [
        "frame-too-large",
        "unmasked-frame",
    ]
    error = assert_strict_fails(server, "unmasked-frame")
    assert "frame-too-large" not in str(error)
