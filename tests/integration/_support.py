"""Shared payloads, handlers and record assertions for the real-client integration tests.

Every module in this package drives one real client library against the mock server over
loopback and checks two things: what the client saw, and what the server recorded. The
assertions on the record live here so that every client is held to the same wire facts.
"""

from __future__ import annotations

import base64
import functools
import random
import struct
from typing import Literal

import pytest

from pytest_wsmock import CloseInfo, Connection, Direction, Frame, Message, Opcode, WebSocket

#: Seconds every client call may take before the test fails instead of hanging.
TIMEOUT = 5.0

#: Payload sizes around each length-encoding boundary of RFC 6455 section 5.2, plus 1 MiB.
SIZES = [0, 125, 126, 65535, 65536, 2**20]
SIZE_IDS = ["0B", "125B", "126B", "65535B", "65536B", "1MiB"]

Kind = Literal["text", "binary"]
KINDS: list[Kind] = ["text", "binary"]

#: Parametrize a test over every (kind, size) pair, with readable ids.
kind_and_size = pytest.mark.parametrize(
    ("kind", "size"),
    [
        pytest.param(k, s, id=f"{k}-{i}")
        for k in KINDS
        for s, i in zip(SIZES, SIZE_IDS, strict=True)
    ],
)

#: The close code and reason the client sends when a test closes from the client side.
CLIENT_CLOSE_CODE = 4000
CLIENT_CLOSE_REASON = "client done"
#: The close code and reason the ``close_4001_after_first_message`` handler sends.
SERVER_CLOSE_CODE = 4001
SERVER_CLOSE_REASON = "bye"

#: Offered and configured subprotocols of the subprotocol tests.
OFFERED_SUBPROTOCOLS = ["superchat", "chat"]

#: A text that compresses well, so a permessage-deflate test can see the size drop.
COMPRESSIBLE_TEXT = "the quick brown fox jumps over the lazy dog. " * 200

DATA_OPCODES = (Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY)


# -- payloads -------------------------------------------------------------------------------


@functools.cache
def binary_payload(size: int) -> bytes:
    """``size`` pseudo-random bytes (the same for the same size), incompressible."""
    return random.Random(size).randbytes(size)


@functools.cache
def text_payload(size: int) -> str:
    """``size`` pseudo-random ASCII characters, so the UTF-8 length is ``size`` bytes too."""
    raw = base64.b64encode(random.Random(-size - 1).randbytes(size))
    return raw[:size].decode("ascii")


def payload(kind: Kind, size: int) -> str | bytes:
    """A text (``str``) or binary (``bytes``) payload of ``size`` bytes."""
    return text_payload(size) if kind == "text" else binary_payload(size)


def as_bytes(data: str | bytes) -> bytes:
    """The bytes of a payload as they go on the wire (UTF-8 for text)."""
    return data.encode("utf-8") if isinstance(data, str) else data


def opcode_of(data: str | bytes) -> Opcode:
    """The data opcode that carries ``data``."""
    return Opcode.TEXT if isinstance(data, str) else Opcode.BINARY


# -- handlers -------------------------------------------------------------------------------


async def ping_then_echo(ws: WebSocket) -> None:
    """Ping the client with ``b"x"``, tell it so with the text ``"pinged"``, then echo."""
    await ws.ping(b"x")
    await ws.send_text("pinged")
    async for message in ws:
        await ws.send(message)


async def close_4001_after_first_message(ws: WebSocket) -> None:
    """Wait for one message, then start the closing handshake with 4001 ``"bye"``."""
    await ws.receive()
    await ws.close(SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)


# -- frame records --------------------------------------------------------------------------


def length_field(header: bytes) -> int:
    """The payload length that a frame header declares (7-, 16- or 64-bit form)."""
    short = header[1] & 0x7F
    if short == 126:
        return int.from_bytes(header[2:4], "big")
    if short == 127:
        return int.from_bytes(header[2:10], "big")
    return short


def extended_length_size(size: int) -> int:
    """How many extended-length bytes RFC 6455 section 5.2 requires for ``size`` (minimal form)."""
    if size <= 125:
        return 0
    if size <= 0xFFFF:
        return 2
    return 8


def client_data_frames(conn: Connection) -> list[Frame]:
    """The data frames (text, binary, continuation) the client sent."""
    return [f for f in conn.frames if f.direction is Direction.CLIENT and f.opcode in DATA_OPCODES]


def server_data_frames(conn: Connection) -> list[Frame]:
    """The data frames the server sent."""
    return [f for f in conn.frames if f.direction is Direction.SERVER and f.opcode in DATA_OPCODES]


def frames_of(conn: Connection, direction: Direction, opcode: Opcode) -> list[Frame]:
    """The frames with this opcode that went in this direction."""
    return [f for f in conn.frames if f.direction is direction and f.opcode == opcode]


def assert_client_frame(
    frame: Frame, opcode: int, payload_bytes: bytes, *, fin: bool = True
) -> None:
    """A client frame is masked with a 4-byte key, uses the minimal length form, and carries
    exactly ``payload_bytes`` uncompressed."""
    size = len(payload_bytes)
    assert frame.direction is Direction.CLIENT
    assert frame.opcode == opcode, frame
    assert frame.fin is fin, frame
    assert (frame.rsv1, frame.rsv2, frame.rsv3) == (False, False, False), frame
    assert frame.masked, frame
    assert frame.mask_key is not None
    assert len(frame.mask_key) == 4
    assert frame.header[1] & 0x80, "MASK bit not set in the recorded header"
    assert len(frame.header) == 2 + extended_length_size(size) + 4, frame.header.hex()
    assert frame.header[-4:] == frame.mask_key
    assert length_field(frame.header) == size
    assert frame.payload == payload_bytes
    assert frame.wire == frame.header + frame.wire_payload
    assert len(frame.wire) == len(frame.header) + size


def assert_server_frame(frame: Frame, opcode: int, payload_bytes: bytes) -> None:
    """A server frame is unmasked, final, and uses the minimal length form."""
    size = len(payload_bytes)
    assert frame.direction is Direction.SERVER
    assert frame.opcode == opcode, frame
    assert frame.fin, frame
    assert not frame.masked, frame
    assert frame.mask_key is None
    assert len(frame.header) == 2 + extended_length_size(size), frame.header.hex()
    assert length_field(frame.header) == size
    assert frame.payload == payload_bytes


def assert_echoed_once(conn: Connection, data: str | bytes) -> None:
    """The client sent ``data`` as one uncompressed frame and the server echoed it back as one.

    Call after the connection has ended, so the record is final.
    """
    raw = as_bytes(data)
    opcode = opcode_of(data)
    if isinstance(data, str):
        assert conn.received_texts == [data]
        assert conn.received_bytes == []
    else:
        assert conn.received_bytes == [data]
        assert conn.received_texts == []
    (received,) = conn.received
    assert received.opcode == opcode
    assert received.frames == 1
    assert not received.compressed
    assert received.value == data
    (sent,) = conn.sent
    assert sent.data == raw
    assert sent.opcode == opcode
    (client_frame,) = client_data_frames(conn)
    assert_client_frame(client_frame, opcode, raw)
    (server_frame,) = server_data_frames(conn)
    assert_server_frame(server_frame, opcode, raw)


def assert_fragmented(
    conn: Connection, chunks: list[bytes], opcode: Opcode, *, empty_final_frame: bool = False
) -> Message:
    """The client sent one message as ``len(chunks)`` frames (first with ``opcode``, then
    CONTINUATION, FIN only on the last), and the server reassembled it into one message.

    ``empty_final_frame``: the client ends the message with an extra empty CONTINUATION frame
    (websockets does when it sends an iterable).
    """
    wire_chunks = [*chunks, b""] if empty_final_frame else list(chunks)
    frames = client_data_frames(conn)
    assert len(frames) == len(wire_chunks), frames
    for i, (frame, chunk) in enumerate(zip(frames, wire_chunks, strict=True)):
        last = i == len(wire_chunks) - 1
        assert_client_frame(frame, opcode if i == 0 else Opcode.CONTINUATION, chunk, fin=last)
    (message,) = conn.received
    assert message.opcode == opcode
    assert message.frames == len(wire_chunks)
    assert message.data == b"".join(chunks)
    assert not message.compressed
    return message


# -- close records --------------------------------------------------------------------------


def assert_client_initiated_close(info: CloseInfo, code: int, reason: str) -> None:
    """The client closed with ``code``/``reason``; the server echoed the code and closed TCP."""
    assert info.initiator is Direction.CLIENT, str(info)
    assert info.client_sent
    assert info.client_code == code
    assert info.client_reason == reason
    assert info.code == code
    assert info.reason == reason
    assert info.server_sent
    assert info.server_code == code
    assert info.server_reason == ""
    assert info.tcp_closed_by is Direction.SERVER, str(info)
    assert info.tcp_end == "fin"
    assert info.clean


def assert_server_initiated_close(
    info: CloseInfo,
    *,
    client_code: int | None,
    client_reason: str,
    server: tuple[int, str] = (SERVER_CLOSE_CODE, SERVER_CLOSE_REASON),
) -> None:
    """The server closed with ``server`` (4001 ``"bye"``), the client answered with
    ``client_code`` and ``client_reason``, and TCP ended with a FIN."""
    assert info.initiator is Direction.SERVER, str(info)
    assert info.server_sent
    assert (info.server_code, info.server_reason) == server
    assert info.client_sent, str(info)
    assert info.client_code == client_code
    assert info.client_reason == client_reason
    # Who sends the first FIN after the client's close reply is a race for clients that close
    # their socket right after replying (aiohttp, websocket-client, httpx-ws do): not pinned.
    assert info.tcp_end == "fin", str(info)
    assert info.clean


def assert_close_frames(conn: Connection, client_payload: bytes, server_payload: bytes) -> None:
    """Exactly one close frame each way, with these payloads (code + reason)."""
    (client_close,) = frames_of(conn, Direction.CLIENT, Opcode.CLOSE)
    (server_close,) = frames_of(conn, Direction.SERVER, Opcode.CLOSE)
    assert client_close.masked
    assert not server_close.masked
    assert client_close.payload == client_payload
    assert server_close.payload == server_payload


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame with this code and reason."""
    return struct.pack("!H", code) + reason.encode("utf-8")


def assert_client_ping_answered(conn: Connection, payload_bytes: bytes) -> None:
    """The client pinged once with ``payload_bytes`` and the server answered one pong with it."""
    assert conn.pings == [payload_bytes]
    (ping,) = frames_of(conn, Direction.CLIENT, Opcode.PING)
    assert ping.masked
    assert ping.fin
    assert ping.payload == payload_bytes
    (pong,) = frames_of(conn, Direction.SERVER, Opcode.PONG)
    assert not pong.masked
    assert pong.payload == payload_bytes
    assert pong.time >= ping.time


def assert_server_ping_answered(conn: Connection) -> None:
    """The server pinged with ``b"x"`` and the client answered one pong with ``b"x"``."""
    (ping,) = frames_of(conn, Direction.SERVER, Opcode.PING)
    assert ping.payload == b"x"
    assert conn.pongs == [b"x"]
    (pong,) = frames_of(conn, Direction.CLIENT, Opcode.PONG)
    assert pong.masked
    assert pong.payload == b"x"
    assert pong.time >= ping.time
    assert conn.pings == []


def assert_deflated(conn: Connection, text: str) -> None:
    """The client sent ``text`` compressed (RSV1 on its single frame) and the server recorded
    the decompressed text; the server's echo went back compressed too."""
    assert conn.extensions is not None
    assert conn.extensions.startswith("permessage-deflate")
    assert conn.received_texts == [text]
    (message,) = conn.received
    assert message.compressed
    assert message.frames == 1
    (frame,) = client_data_frames(conn)
    assert frame.opcode == Opcode.TEXT
    assert frame.rsv1
    assert frame.masked
    assert len(frame.payload) < len(text) // 4, "the compressed payload is not smaller"
    (echo_frame,) = server_data_frames(conn)
    assert echo_frame.rsv1
    (sent,) = conn.sent
    assert sent.compressed
    assert sent.data == text.encode()


def assert_not_deflated(conn: Connection, text: str) -> None:
    """No extension was negotiated and ``text`` went both ways uncompressed."""
    assert conn.extensions is None
    assert conn.response is not None
    assert "Sec-WebSocket-Extensions" not in conn.response.headers
    assert conn.received_texts == [text]
    assert not any(f.rsv1 for f in conn.frames)
    assert not any(m.compressed for m in conn.messages)
    (frame,) = client_data_frames(conn)
    assert frame.payload == text.encode()


def assert_subprotocol_chat(conn: Connection) -> None:
    """The client offered superchat and chat, and the server selected chat."""
    assert conn.request is not None
    assert conn.request.subprotocols == tuple(OFFERED_SUBPROTOCOLS)
    assert conn.subprotocol == "chat"
    assert conn.response is not None
    assert conn.response.status == 101
    assert conn.response.headers.get("Sec-WebSocket-Protocol") == "chat"


def assert_tls_connection(conn: Connection, text: str) -> None:
    """The connection went through TLS without error and carried ``text`` both ways."""
    assert conn.tls_error is None
    assert conn.accepted
    assert conn.received_texts == [text]
    assert [m.text for m in conn.sent] == [text]
    assert conn.close is not None
    # Both close frames; the TCP end is not pinned: a client that closes its socket without
    # waiting for the server's close frame (httpx-ws) gets RST when that frame arrives.
    assert conn.close.client_sent, str(conn.close)
    assert conn.close.server_sent, str(conn.close)


def assert_request_basics(conn: Connection, path: str, query: str, port: int) -> None:
    """The request line, Host, and the RFC 6455 headers every client must send."""
    request = conn.request
    assert request is not None
    assert request.method == "GET"
    assert request.http_version == "HTTP/1.1"
    assert request.path == path
    assert request.query == query
    assert request.target == (f"{path}?{query}" if query else path)
    assert request.host in (f"127.0.0.1:{port}", "127.0.0.1")
    assert request.version == "13"
    assert request.key is not None
    assert len(base64.b64decode(request.key)) == 16
    assert (request.headers.get("Upgrade") or "").lower() == "websocket"
    connection = (request.headers.get("Connection") or "").lower()
    assert "upgrade" in [token.strip() for token in connection.split(",")]
    assert request.raw.startswith(f"GET {request.target} HTTP/1.1\r\n".encode())
    assert request.raw.endswith(b"\r\n\r\n")
    assert conn.accepted
