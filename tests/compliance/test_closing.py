"""Closing-handshake compliance checks: close codes and payloads, the client's answer to the
server's close, data after close, pongs that do not echo the ping, and TCP closed too early."""

from __future__ import annotations

import time

import pytest

from pytest_wsmock import Direction, MockServer, Opcode, WebSocket, close, silent

from ._checks import assert_recorded, assert_strict_fails, assert_strict_passes, closed_connection
from ._raw import TIMEOUT, RawClient

CLOSE_TIMEOUT = 0.3


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
def test_invalid_close_code(server: MockServer, code: int) -> None:
    """A close code that may not be sent is failed with 1002 (section 7.4.1)."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_close(code, b"why")
        answer = client.read_close()
        assert (answer.close_code, answer.close_reason) == (1002, "invalid-close-code")
        assert client.read_eof() == b""
    conn = closed_connection(server)
    violation = assert_recorded(conn, "invalid-close-code", "RFC 6455 section 7.4.1")
    assert str(code) in violation.detail
    # Still the client's close frame, with its raw code (Chromium echoes such codes).
    assert conn.close is not None
    assert (conn.close.client_sent, conn.close.client_code, conn.close.initiator) == (
        True,
        code,
        Direction.CLIENT,
    )
    assert_strict_fails(server, "invalid-close-code")


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999])
def test_valid_close_code_is_echoed(server: MockServer, code: int) -> None:
    """A valid close code is answered with the same code (section 5.5.1): no violation."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_close(code, b"done")
        assert client.read_close().close_code == code
        assert client.read_eof() == b""
    conn = closed_connection(server)
    assert conn.violations == []
    assert conn.close is not None
    assert (conn.close.code, conn.close.reason, conn.close.server_code) == (code, "done", code)
    assert conn.close.initiator is Direction.CLIENT
    assert conn.close.clean
    assert_strict_passes(server)


def test_empty_close_payload_is_fine(server: MockServer) -> None:
    """A close frame with no payload is legal and answered with an empty close frame."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_close(None)
        answer = client.read_close()
        assert answer.payload == b""
        client.read_eof()
    conn = closed_connection(server)
    assert conn.close is not None
    assert (conn.close.client_sent, conn.close.code) == (True, None)
    assert_strict_passes(server)


def test_close_payload_of_one_byte(server: MockServer) -> None:
    """A 1-byte close payload (half a code) is failed with 1002 (section 5.5.1)."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.CLOSE, b"\x03")
        assert client.read_close().close_code == 1002
        client.read_eof()
    conn = closed_connection(server)
    assert_recorded(conn, "close-payload-too-short", "RFC 6455 section 5.5.1")
    assert conn.close is not None
    assert (conn.close.client_sent, conn.close.client_code) == (True, None)
    assert_strict_fails(server, "close-payload-too-short")


@pytest.mark.wsmock(close_timeout=CLOSE_TIMEOUT)
def test_no_close_reply(server: MockServer) -> None:
    """A client that never answers the server's close is recorded after close_timeout."""
    with RawClient.connect(server.host, server.port) as client:
        conn = server.wait_for_connection(timeout=TIMEOUT)
        started = time.monotonic()
        info = conn.send_close(1001, "going away")  # returns once the server gave up
        waited = time.monotonic() - started
        frame = client.read_close()
        assert (frame.close_code, frame.close_reason) == (1001, "going away")
        assert client.read_eof() == b""
    assert CLOSE_TIMEOUT <= waited < CLOSE_TIMEOUT + 2
    violation = assert_recorded(conn, "no-close-reply", "RFC 6455 section 5.5.1")
    assert not violation.fatal
    assert f"{CLOSE_TIMEOUT} s" in violation.detail
    assert (info.initiator, info.client_sent, info.tcp_closed_by) == (
        Direction.SERVER,
        False,
        Direction.SERVER,
    )
    assert any("did not answer the server's close frame" in note for note in conn.notes)
    assert_strict_fails(server, "no-close-reply")


@pytest.mark.wsmock(close_timeout=CLOSE_TIMEOUT)
def test_close_reply_in_time_is_fine(server: MockServer) -> None:
    """A client that answers the server's close frame in time breaks no rule."""
    server.script(close(1000, "bye"))
    with RawClient.connect(server.host, server.port) as client:
        assert client.read_close().close_code == 1000
        client.send_close(1000)
        assert client.read_eof() == b""
    conn = closed_connection(server)
    assert conn.violations == []
    assert conn.close is not None
    assert conn.close.clean
    assert_strict_passes(server)


@pytest.mark.parametrize(
    "late",
    [
        pytest.param(lambda c: c.send_frame(Opcode.TEXT, b"late"), id="text"),
        pytest.param(lambda c: c.send_frame(Opcode.PING, b"late"), id="ping"),
    ],
)
def test_data_after_close(server: MockServer, late: object) -> None:
    """A frame after the client's own close frame is recorded, not delivered, not answered."""
    with RawClient.connect(server.host, server.port) as client:
        client.send_close(1000)
        late(client)  # type: ignore[operator]
        answer = client.read_close()
        assert answer.close_code == 1000
        assert client.read_eof() == b"", "the server answered a frame sent after close"
    conn = closed_connection(server)
    violation = assert_recorded(conn, "data-after-close", "RFC 6455 section 5.5.1")
    assert not violation.fatal
    assert conn.received == []
    assert conn.pings == []
    assert conn.frames[-1].direction is Direction.CLIENT  # recorded as it was on the wire
    assert conn.frames[-1].payload == b"late"
    assert_strict_fails(server, "data-after-close")


def test_pong_mismatch_after_live_ping(server: MockServer) -> None:
    """A pong that does not echo the server's ping payload is recorded (section 5.5.3)."""
    with RawClient.connect(server.host, server.port) as client:
        conn = server.wait_for_connection(timeout=TIMEOUT)
        conn.ping(b"x")
        ping = client.read_frame()
        assert (ping.opcode, ping.payload) == (Opcode.PING, b"x")
        client.send_frame(Opcode.PONG, b"y")
        client.send_close(1000)
        assert client.read_close().close_code == 1000
        client.read_eof()
    conn.wait_closed(timeout=TIMEOUT)
    violation = assert_recorded(conn, "pong-mismatch", "RFC 6455 section 5.5.3")
    assert not violation.fatal
    assert "b'x'" in violation.detail
    assert "b'y'" in violation.detail
    assert conn.pongs == [b"y"]
    assert_strict_fails(server, "pong-mismatch")


def test_pong_mismatch_after_handler_ping(server: MockServer) -> None:
    """A handler's ping is checked the same way: an empty pong to a b'hb' ping is a mismatch."""

    @server.handler
    async def pinger(ws: WebSocket) -> None:
        await ws.ping(b"hb")
        pong = await ws.receive_control(timeout=TIMEOUT)
        assert pong.payload == b""

    with RawClient.connect(server.host, server.port) as client:
        assert client.read_frame().payload == b"hb"
        client.send_frame(Opcode.PONG, b"")
        assert client.read_close().close_code == 1000  # the handler returned
        client.send_close(1000)
        client.read_eof()
    conn = closed_connection(server)
    assert_recorded(conn, "pong-mismatch", "RFC 6455 section 5.5.3")
    assert_strict_fails(server, "pong-mismatch")


def test_matching_and_unsolicited_pongs_are_fine(server: MockServer) -> None:
    """A pong echoing the ping, and an unsolicited pong (a heartbeat), break no rule."""
    with RawClient.connect(server.host, server.port) as client:
        conn = server.wait_for_connection(timeout=TIMEOUT)
        client.send_frame(Opcode.PONG, b"heartbeat")
        client.send_frame(Opcode.TEXT, b"sync")
        conn.wait_for_message(timeout=TIMEOUT)  # the heartbeat is in before the pings go out
        conn.ping(b"1")
        conn.ping(b"2")
        assert [client.read_frame().payload for _ in range(2)] == [b"1", b"2"]
        client.send_frame(Opcode.PONG, b"1")
        client.send_frame(Opcode.PONG, b"2")
        client.send_close(1000)
        client.read_close()
        client.read_eof()
    conn.wait_closed(timeout=TIMEOUT)
    assert conn.pongs == [b"heartbeat", b"1", b"2"]
    assert conn.violations == []
    assert_strict_passes(server)


@pytest.mark.parametrize(("reset", "how"), [(False, "FIN"), (True, "RST")])
def test_no_closing_handshake(server: MockServer, reset: bool, how: str) -> None:
    """A client that closes TCP without a close frame is recorded (sections 5.5.1 and 7.1.1)."""
    server.handler(silent)
    with RawClient.connect(server.host, server.port) as client:
        client.send_frame(Opcode.TEXT, b"bye")
        conn = server.wait_for_connection(timeout=TIMEOUT)
        conn.wait_for_messages(1, timeout=TIMEOUT)
        client.close_tcp(reset=reset)
    conn.wait_closed(timeout=TIMEOUT)
    violation = assert_recorded(conn, "no-closing-handshake", "RFC 6455 sections 5.5.1 and 7.1.1")
    assert violation.detail == f"the client closed TCP ({how}) without sending a close frame"
    assert conn.close is not None
    assert (conn.close.client_sent, conn.close.server_sent) == (False, False)
    assert conn.close.tcp_closed_by is Direction.CLIENT
    assert conn.close.tcp_end == how.lower()
    assert_strict_fails(server, "no-closing-handshake")


def test_tcp_close_instead_of_close_reply(server: MockServer) -> None:
    """A client that drops TCP when the server sends its close frame is recorded too."""
    server.script(close(1000))
    with RawClient.connect(server.host, server.port) as client:
        assert client.read_close().close_code == 1000
        client.close_tcp()
    conn = closed_connection(server)
    violation = assert_recorded(conn, "no-closing-handshake", "RFC 6455 sections 5.5.1 and 7.1.1")
    assert "instead of answering the server's close frame" in violation.detail
    assert_strict_fails(server, "no-closing-handshake")


def test_pong_for_only_the_latest_ping_is_fine(server: MockServer) -> None:
    """A client that answers only the most recent of two pings complies (section 5.5.3)."""
    with RawClient.connect(server.host, server.port) as client:
        conn = server.wait_for_connection(timeout=TIMEOUT)
        conn.ping(b"1")
        conn.ping(b"2")
        assert [client.read_frame().payload for _ in range(2)] == [b"1", b"2"]
        client.send_frame(Opcode.PONG, b"2")
        client.send_close(1000)
        client.read_close()
        client.read_eof()
    conn.wait_closed(timeout=TIMEOUT)
    assert conn.violations == []


def test_unsolicited_pong_crossing_a_ping_is_fine(server: MockServer) -> None:
    """A heartbeat pong that crosses the server's ping on the wire breaks no rule."""
    with RawClient.connect(server.host, server.port) as client:
        conn = server.wait_for_connection(timeout=TIMEOUT)
        conn.ping(b"1")  # on the wire, not read yet
        client.send_frame(Opcode.PONG, b"heartbeat")
        assert client.read_frame().payload == b"1"
        client.send_frame(Opcode.PONG, b"1")
        client.send_close(1000)
        client.read_close()
        client.read_eof()
    conn.wait_closed(timeout=TIMEOUT)
    assert conn.violations == []
