"""The protocol core's fixes as the server carries them out, over real sockets."""

from __future__ import annotations

import zlib

import pytest

from pytest_wsmock import MockServer, Opcode, ServerFactory, WebSocket, echo, silent
from pytest_wsmock._protocol import encode_frame

from ..compliance._raw import MASK_KEY, RawClient, handshake_request

OFFER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"


@pytest.mark.wsmock(strict=False)
def test_deflate_answer_keeps_client_no_context_takeover(ws_server: MockServer) -> None:
    """An offer with both no_context_takeover flags gets both back (gorilla requires it)."""
    request = handshake_request(ws_server.host, ws_server.port, Sec_WebSocket_Extensions=OFFER)
    with RawClient.open(ws_server.host, ws_server.port, request) as client:
        answer = client.read_response().header("Sec-WebSocket-Extensions")
    assert answer is not None
    assert "client_no_context_takeover" in answer
    assert "server_no_context_takeover" in answer


def test_deflate_answer_can_leave_client_no_context_takeover_out(
    ws_server_factory: ServerFactory,
) -> None:
    """deflate_client_no_context_takeover=False leaves the parameter out of the answer."""
    server = ws_server_factory(deflate_client_no_context_takeover=False, strict=False)
    request = handshake_request(server.host, server.port, Sec_WebSocket_Extensions=OFFER)
    with RawClient.open(server.host, server.port, request) as client:
        answer = client.read_response().header("Sec-WebSocket-Extensions")
    assert answer == "permessage-deflate; server_no_context_takeover"


@pytest.mark.wsmock(strict=False)
@pytest.mark.parametrize("target", ["?", "*", "ws://127.0.0.1/"])
def test_request_target_that_is_not_origin_form_gets_400(
    ws_server: MockServer, target: str
) -> None:
    """`GET ? HTTP/1.1` and the like are refused with 400 and recorded as invalid-target."""
    request = handshake_request(ws_server.host, ws_server.port, path=target)
    with RawClient.open(ws_server.host, ws_server.port, request) as client:
        assert client.read_response().status == 400
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert [v.kind for v in conn.violations] == ["invalid-target"]


@pytest.mark.wsmock(strict=False)
def test_host_without_the_port_gets_400(ws_server: MockServer) -> None:
    """A Host without the server's (non-default) port is refused (RFC 6455 section 4.1)."""
    request = handshake_request(ws_server.host, ws_server.port, Host=ws_server.host)
    with RawClient.open(ws_server.host, ws_server.port, request) as client:
        response = client.read_response()
    assert response.status == 400
    assert b"host-port-mismatch" in response.body
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert [v.kind for v in conn.violations] == ["host-port-mismatch"]


@pytest.mark.wsmock(strict=False)
def test_http_request_on_an_upgraded_connection_is_named(ws_server: MockServer) -> None:
    """A second HTTP request after the 101 is reported as such, not as an unmasked frame."""
    ws_server.handler(silent)
    again = handshake_request(ws_server.host, ws_server.port)
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        client.send_raw(again)
        assert client.read_close().close_code == 1002
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    kinds = [v.kind for v in conn.violations]
    assert kinds == ["http-request-on-websocket"]
    assert "GET / HTTP/1.1" in conn.violations[0].detail


@pytest.mark.wsmock(strict=False)
def test_compressed_data_after_the_final_block_is_a_violation(ws_server: MockServer) -> None:
    """Data after a DEFLATE block with BFINAL set fails the message with 1007 (RFC 7692)."""
    ws_server.handler(echo)
    request = handshake_request(
        ws_server.host, ws_server.port, Sec_WebSocket_Extensions="permessage-deflate"
    )
    compressor = zlib.compressobj(wbits=-15)
    final = compressor.compress(b"hello") + compressor.flush(zlib.Z_FINISH)
    with RawClient.open(ws_server.host, ws_server.port, request) as client:
        assert client.read_response().status == 101
        client.send_frame(Opcode.TEXT, final + b"\x00\x01garbage", rsv1=True)
        assert client.read_close().close_code == 1007
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert [v.kind for v in conn.violations] == ["deflate-trailing-data"]
    assert conn.received == []


@pytest.mark.wsmock(strict=False)
def test_unfinished_frame_at_end_of_stream_is_noted(ws_server: MockServer) -> None:
    """9 of the 17 bytes of a masked frame, then FIN: a note says what was held."""
    ws_server.handler(silent)
    frame = encode_frame(Opcode.TEXT, b"hello world", mask_key=MASK_KEY)
    assert len(frame) == 17
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        client.send_raw(frame[:9])
        client.close_tcp()
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.frames == []
    assert any("9 of 17 bytes of a masked TEXT frame" in note for note in conn.notes), conn.notes


@pytest.mark.wsmock(timeout=1, close_timeout=0.3, strict=False)
def test_handler_send_to_a_client_that_never_reads_gives_up(ws_server: MockServer) -> None:
    """A handler sending 32 MiB to a client that never reads cannot keep it open: the write
    gives up after `timeout`, the server closes TCP, and the handler ends quietly."""

    @ws_server.handler
    async def flood(ws: WebSocket) -> None:
        await ws.send_binary(b"\0" * 32 * 2**20, compress=False)

    with RawClient.connect(ws_server.host, ws_server.port):
        conn = ws_server.wait_for_connection()
        info = conn.wait_closed(timeout=30)
    assert info.tcp_closed_by.value == "server"
    assert any("the client is not reading" in note for note in conn.notes), conn.notes
    assert ws_server.errors == []
