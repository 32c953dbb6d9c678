"""Frame-level compliance checks: each fatal rule makes the server fail the connection with
the close code RFC 6455 section 7.1.7 names, record the violation, and fail strict mode."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_wsmock import Connection, Direction, MockServer, Opcode

from ._checks import assert_recorded, assert_strict_fails, closed_connection
from ._raw import RawClient, ServerFrame

Act = Callable[[RawClient], None]


def fail_connection(server: MockServer, act: Act) -> tuple[ServerFrame, bytes, Connection]:
    """Connect, let ``act`` break the protocol, and read the server's close frame and then
    everything up to its FIN; return the close frame, what followed it, and the record."""
    with RawClient.connect(server.host, server.port) as client:
        act(client)
        close = client.read_close()
        after = client.read_eof()
    return close, after, closed_connection(server)


def assert_failed_by_server(
    server: MockServer, act: Act, kind: str, rfc: str, code: int, *, client_closed: bool = False
) -> Connection:
    """The whole contract of a fatal check: the close frame on the wire, the record, strict."""
    close, after, conn = fail_connection(server, act)
    assert (close.close_code, close.close_reason) == (code, kind)
    assert after == b"", "the server wrote more after its close frame"
    violation = assert_recorded(conn, kind, rfc)
    assert violation.fatal
    assert violation.close_code == code
    info = conn.close
    assert info is not None
    # A close frame that breaks a rule is still the client's close frame, and it came first.
    first = Direction.CLIENT if client_closed else Direction.SERVER
    assert (info.initiator, info.server_code, info.client_sent) == (first, code, client_closed)
    assert info.tcp_closed_by is Direction.SERVER
    assert_strict_fails(server, kind)
    return conn


def test_unmasked_frame(server: MockServer) -> None:
    """An unmasked client frame is failed with 1002 and recorded as unmasked-frame (5.1)."""
    conn = assert_failed_by_server(
        server,
        lambda c: c.send_frame(Opcode.TEXT, b"hello", masked=False),
        "unmasked-frame",
        "RFC 6455 section 5.1",
        1002,
    )
    client_frames = [f for f in conn.frames if f.direction is Direction.CLIENT]
    assert [(f.opcode, f.masked, f.payload) for f in client_frames] == [(1, False, b"hello")]


@pytest.mark.parametrize("bit", ["rsv1", "rsv2", "rsv3"])
def test_reserved_bits(server: MockServer, bit: str) -> None:
    """An RSV bit that no negotiated extension defines is failed with 1002 (section 5.2)."""
    conn = assert_failed_by_server(
        server,
        lambda c: c.send_frame(Opcode.TEXT, b"hi", **{bit: True}),
        "reserved-bits",
        "RFC 6455 section 5.2",
        1002,
    )
    assert bit.upper() in conn.violations[0].detail
    frame = next(f for f in conn.frames if f.direction is Direction.CLIENT)
    assert getattr(frame, bit)


def test_rsv1_on_control_frame_with_deflate(server: MockServer) -> None:
    """With permessage-deflate negotiated, RSV1 on a ping still breaks RFC 7692 section 6.1."""
    request = (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    ) % server.port
    with RawClient.open(server.host, server.port, request) as client:
        response = client.read_response()
        assert response.header("Sec-WebSocket-Extensions") == "permessage-deflate"
        client.send_frame(Opcode.PING, b"p", rsv1=True)
        assert client.read_close().close_code == 1002
        client.read_eof()
    conn = closed_connection(server)
    assert_recorded(conn, "reserved-bits", "RFC 7692 section 6.1")
    assert_strict_fails(server, "reserved-bits")


@pytest.mark.parametrize("opcode", [3, 7, 11, 15])
def test_reserved_opcode(server: MockServer, opcode: int) -> None:
    """A frame with a reserved opcode (3-7, 11-15) is failed with 1002 (section 5.2)."""
    conn = assert_failed_by_server(
        server,
        lambda c: c.send_frame(opcode, b"?"),
        "reserved-opcode",
        "RFC 6455 section 5.2",
        1002,
    )
    assert f"reserved opcode {opcode}" in conn.violations[0].detail


def test_invalid_utf8_in_text(server: MockServer) -> None:
    """A text message that is not UTF-8 is failed with 1007 and never recorded as a message."""
    conn = assert_failed_by_server(
        server,
        lambda c: c.send_frame(Opcode.TEXT, b"caf\xc3\x28"),
        "invalid-utf8",
        "RFC 6455 section 8.1",
        1007,
    )
    assert conn.received == []


@pytest.mark.parametrize(
    "fragments",
    [
        pytest.param([b"caf\xc3", b"\x28"], id="bad-continuation-byte"),
        pytest.param([b"ok \xe2\x82", b""], id="truncated-at-end"),
        pytest.param([b"ok", b"\xff", b"ok"], id="invalid-byte-in-middle-fragment"),
    ],
)
def test_invalid_utf8_split_across_fragments(server: MockServer, fragments: list[bytes]) -> None:
    """UTF-8 is checked across fragment boundaries: a bad sequence split over frames is 1007."""

    def act(client: RawClient) -> None:
        for index, piece in enumerate(fragments):
            opcode = Opcode.TEXT if index == 0 else Opcode.CONTINUATION
            client.send_frame(opcode, piece, fin=index == len(fragments) - 1)

    conn = assert_failed_by_server(server, act, "invalid-utf8", "RFC 6455 section 8.1", 1007)
    assert conn.received == []


def test_valid_utf8_split_across_fragments_is_fine(server: MockServer) -> None:
    """A multi-byte character split between two fragments is valid UTF-8: no violation."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.TEXT, b"caf\xc3", fin=False)
        client.send_frame(Opcode.CONTINUATION, b"\xa9")
        client.send_close(1000)
        assert client.read_close().close_code == 1000
        client.read_eof()
    conn = closed_connection(server)
    assert conn.received_texts == ["café"]
    assert conn.received[0].frames == 2
    assert conn.violations == []
    server.stop()
    server.check()


def test_invalid_utf8_in_close_reason(server: MockServer) -> None:
    """A close reason that is not UTF-8 is failed with 1007 (section 5.5.1)."""
    conn = assert_failed_by_server(
        server,
        lambda c: c.send_close(1000, b"bye \xff"),
        "invalid-close-reason",
        "RFC 6455 section 5.5.1",
        1007,
        client_closed=True,
    )
    assert conn.close is not None
    assert conn.close.client_code == 1000
    assert "b'bye \\xff'" in conn.violations[0].detail


@pytest.mark.parametrize("opcode", [Opcode.PING, Opcode.PONG, Opcode.CLOSE])
def test_control_frame_too_large(server: MockServer, opcode: Opcode) -> None:
    """A control frame with a 126-byte payload is failed with 1002 (section 5.5)."""
    payload = b"\x03\xe8" + b"r" * 124 if opcode is Opcode.CLOSE else b"p" * 126
    conn = assert_failed_by_server(
        server,
        lambda c: c.send_frame(opcode, payload),
        "control-frame-too-large",
        "RFC 6455 section 5.5",
        1002,
    )
    assert conn.pings == []
    assert "126-byte payload" in conn.violations[0].detail


def test_control_frame_of_125_bytes_is_fine(server: MockServer) -> None:
    """A ping of exactly 125 bytes is legal and answered with a pong that echoes it."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.PING, b"p" * 125)
        pong = client.read_frame()
        assert (pong.opcode, pong.payload) == (Opcode.PONG, b"p" * 125)
        client.send_close(1000)
        client.read_close()
        client.read_eof()
    conn = closed_connection(server)
    assert conn.pings == [b"p" * 125]
    assert conn.violations == []


def test_fragmented_control_frame(server: MockServer) -> None:
    """A ping without FIN is failed with 1002: control frames cannot be fragmented (5.5)."""
    assert_failed_by_server(
        server,
        lambda c: c.send_frame(Opcode.PING, b"p", fin=False),
        "fragmented-control-frame",
        "RFC 6455 section 5.5",
        1002,
    )


def test_unexpected_continuation(server: MockServer) -> None:
    """A continuation frame with no message in progress is failed with 1002 (section 5.4)."""
    assert_failed_by_server(
        server,
        lambda c: c.send_frame(Opcode.CONTINUATION, b"more"),
        "unexpected-continuation",
        "RFC 6455 section 5.4",
        1002,
    )


def test_interleaved_data_frame(server: MockServer) -> None:
    """A new data frame inside a fragmented message is failed with 1002 (section 5.4)."""

    def act(client: RawClient) -> None:
        client.send_frame(Opcode.TEXT, b"first half", fin=False)
        client.send_frame(Opcode.BINARY, b"another message")

    conn = assert_failed_by_server(
        server, act, "interleaved-data-frame", "RFC 6455 section 5.4", 1002
    )
    assert conn.received == []


def test_ping_between_fragments_is_fine(server: MockServer) -> None:
    """A ping between the fragments of a message is legal (section 5.4) and answered."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.BINARY, b"ab", fin=False)
        client.send_frame(Opcode.PING, b"mid")
        client.send_frame(Opcode.CONTINUATION, b"cd")
        pong = client.read_frame()
        assert (pong.opcode, pong.payload) == (Opcode.PONG, b"mid")
        client.send_close(1000)
        client.read_close()
        client.read_eof()
    conn = closed_connection(server)
    assert conn.received_bytes == [b"abcd"]
    assert conn.violations == []


def test_invalid_length(server: MockServer) -> None:
    """A 64-bit length with its most significant bit set is failed with 1002 (section 5.2)."""
    conn = assert_failed_by_server(
        server,
        lambda c: c.send_frame(Opcode.BINARY, b"", length=2**63, length_bits=64),
        "invalid-length",
        "RFC 6455 section 5.2",
        1002,
    )
    assert [f for f in conn.frames if f.direction is Direction.CLIENT] == []


@pytest.mark.parametrize(("bits", "size"), [(16, 5), (64, 5), (64, 200)])
def test_non_minimal_length(server: MockServer, bits: int, size: int) -> None:
    """A non-minimal length is recorded, the message still delivered, and strict fails."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.BINARY, b"x" * size, length_bits=bits)
        client.send_close(1000)
        assert client.read_close().close_code == 1000
        client.read_eof()
    conn = closed_connection(server)
    violation = assert_recorded(conn, "non-minimal-length", "RFC 6455 section 5.2")
    assert not violation.fatal
    assert f"{bits}-bit form" in violation.detail
    assert conn.received_bytes == [b"x" * size]
    assert conn.close is not None
    assert conn.close.clean
    assert_strict_fails(server, "non-minimal-length")
