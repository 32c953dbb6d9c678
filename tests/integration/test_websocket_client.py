"""websocket-client (``websocket.create_connection``, blocking) against the mock server.

websocket-client offers no permessage-deflate, so its deflate test checks that nothing is
negotiated when nothing is offered.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import websocket
from websocket import ABNF

from pytest_wsmock import Direction, MockServer, Opcode

from ._support import (
    CLIENT_CLOSE_CODE,
    CLIENT_CLOSE_REASON,
    COMPRESSIBLE_TEXT,
    OFFERED_SUBPROTOCOLS,
    SERVER_CLOSE_CODE,
    SERVER_CLOSE_REASON,
    TIMEOUT,
    Kind,
    assert_client_initiated_close,
    assert_client_ping_answered,
    assert_close_frames,
    assert_echoed_once,
    assert_fragmented,
    assert_not_deflated,
    assert_request_basics,
    assert_server_initiated_close,
    assert_server_ping_answered,
    assert_subprotocol_chat,
    assert_tls_connection,
    close_4001_after_first_message,
    close_payload,
    frames_of,
    kind_and_size,
    payload,
    ping_then_echo,
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


def _send(ws: websocket.WebSocket, data: str | bytes) -> None:
    if isinstance(data, str):
        ws.send(data)
    else:
        ws.send_binary(data)


def _recv(ws: websocket.WebSocket) -> str | bytes:
    """The next data message, checked to be text or binary (recv() returns "" on a close)."""
    opcode, data = ws.recv_data()
    assert opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY), (opcode, data)
    return data.decode("utf-8") if opcode == ABNF.OPCODE_TEXT else bytes(data)


@kind_and_size
def test_echo_sizes(echo_server: MockServer, kind: Kind, size: int) -> None:
    """A text or binary message of each length form is echoed and recorded as one masked frame."""
    data = payload(kind, size)
    with _connect(echo_server.url) as ws:
        _send(ws, data)
        assert _recv(ws) == data
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_echoed_once(conn, data)


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_fragmented_send_frame(echo_server: MockServer, kind: Kind) -> None:
    """ABNF frames with FIN clear and CONT opcodes are reassembled into one message."""
    chunks = [b"frag-1 ", b"frag-2 ", b"frag-3"]
    first_opcode = ABNF.OPCODE_TEXT if kind == "text" else ABNF.OPCODE_BINARY
    with _connect(echo_server.url) as ws:
        ws.send_frame(ABNF.create_frame(chunks[0], first_opcode, fin=0))
        ws.send_frame(ABNF.create_frame(chunks[1], ABNF.OPCODE_CONT, fin=0))
        ws.send_frame(ABNF.create_frame(chunks[2], ABNF.OPCODE_CONT, fin=1))
        echoed = _recv(ws)
    whole = b"".join(chunks)
    assert echoed == (whole.decode() if kind == "text" else whole)
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_fragmented(conn, chunks, Opcode.TEXT if kind == "text" else Opcode.BINARY)


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


def test_client_ping_gets_pong(echo_server: MockServer) -> None:
    """A client ping is answered by the server's pong, read with recv_data(control_frame=True)."""
    with _connect(echo_server.url) as ws:
        ws.ping(b"hi")
        opcode, data = ws.recv_data(control_frame=True)
        assert opcode == ABNF.OPCODE_PONG
        assert data == b"hi"
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_client_ping_answered(conn, b"hi")


def test_server_ping_gets_pong(ws_server: MockServer) -> None:
    """websocket-client answers the handler's ping with a pong while it reads."""
    ws_server.handler(ping_then_echo)
    with _connect(ws_server.url) as ws:
        assert _recv(ws) == "pinged"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert_server_ping_answered(conn)


def test_client_close_with_code_and_reason(echo_server: MockServer) -> None:
    """close(status=4000, reason=...) is recorded; the server echoes the code, closes TCP first."""
    with _connect(echo_server.url) as ws:
        ws.send("hello")
        assert _recv(ws) == "hello"
        ws.close(status=CLIENT_CLOSE_CODE, reason=CLIENT_CLOSE_REASON.encode(), timeout=TIMEOUT)
        assert not ws.connected
    conn = echo_server.wait_for_connection()
    info = conn.wait_closed()
    assert_client_initiated_close(info, CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
    assert_close_frames(
        conn,
        close_payload(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON),
        close_payload(CLIENT_CLOSE_CODE),
    )


def test_server_close_with_code_and_reason(ws_server: MockServer) -> None:
    """A handler's close(4001, "bye") arrives as a CLOSE frame; websocket-client answers it."""
    ws_server.handler(close_4001_after_first_message)
    with _connect(ws_server.url) as ws:
        ws.send("hello")
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert opcode == ABNF.OPCODE_CLOSE
        assert frame.data == close_payload(SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    # websocket-client answers a close frame with 1000 and no reason, whatever the server sent.
    assert_server_initiated_close(info, client_code=1000, client_reason="")
    (client_close,) = frames_of(conn, Direction.CLIENT, Opcode.CLOSE)
    assert client_close.payload == close_payload(1000)
    assert conn.received_texts == ["hello"]


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


@pytest.mark.wsmock(subprotocols=["chat"])
def test_subprotocol_selected(echo_server: MockServer) -> None:
    """The server picks "chat" from ["superchat", "chat"] and the client agrees."""
    with _connect(echo_server.url, subprotocols=OFFERED_SUBPROTOCOLS) as ws:
        assert ws.getsubprotocol() == "chat"
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_subprotocol_chat(conn)


def test_no_extension_offered(echo_server: MockServer) -> None:
    """websocket-client offers no permessage-deflate, so nothing is negotiated or compressed."""
    with _connect(echo_server.url) as ws:
        ws.send(COMPRESSIBLE_TEXT)
        assert _recv(ws) == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.request is not None
    assert conn.request.extensions == ()
    assert_not_deflated(conn, COMPRESSIBLE_TEXT)


def test_wss_with_ssl_context(echo_wss_server: MockServer) -> None:
    """wss:// works with sslopt={"context": client_ssl_context()}."""
    with _connect(
        echo_wss_server.url, sslopt={"context": echo_wss_server.client_ssl_context()}
    ) as ws:
        ws.send("over tls")
        assert _recv(ws) == "over tls"
    conn = echo_wss_server.wait_for_connection()
    conn.wait_closed()
    assert_tls_connection(conn, "over tls")


def test_wss_with_ca_certs(echo_wss_server: MockServer) -> None:
    """wss:// works with sslopt={"ca_certs": ca_path}."""
    with _connect(echo_wss_server.url, sslopt={"ca_certs": str(echo_wss_server.ca_path)}) as ws:
        ws.send("over tls")
        assert _recv(ws) == "over tls"
    conn = echo_wss_server.wait_for_connection()
    conn.wait_closed()
    assert_tls_connection(conn, "over tls")


def test_wss_untrusted_fails(echo_wss_server: MockServer) -> None:
    """Without the CA, the client refuses the certificate and the server records why."""
    with pytest.raises(ssl.SSLCertVerificationError):
        websocket.create_connection(echo_wss_server.url, timeout=TIMEOUT)
    conn = echo_wss_server.wait_for_connection()
    conn.wait_closed()
    assert conn.tls_error is not None
    assert conn.request is None
    assert not conn.accepted


def test_request_record(echo_server: MockServer) -> None:
    """Path, query, custom headers and the default Origin are recorded as sent."""
    url = echo_server.url_for("/feed/v1?room=7&name=a%20b")
    with _connect(url, header={"X-Token": "s3cret"}):
        pass
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_request_basics(conn, "/feed/v1", "room=7&name=a%20b", echo_server.port)
    request = conn.request
    assert request is not None
    assert request.query_params == {"room": ["7"], "name": ["a b"]}
    assert request.headers.get("X-Token") == "s3cret"
    # websocket-client is the client that sends Origin by default: http://host:port.
    assert request.origin == f"http://127.0.0.1:{echo_server.port}"


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
