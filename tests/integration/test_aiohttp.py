"""aiohttp's client (``ClientSession.ws_connect``) against the mock server.

aiohttp has no public way to fragment a message (``send_frame`` always sets FIN), so there is
no fragmentation test here.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

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
    assert_deflated,
    assert_echoed_once,
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

pytestmark = pytest.mark.asyncio


@asynccontextmanager
async def _ws_connect(
    url: str, **kwargs: Any
) -> AsyncIterator[aiohttp.ClientWebSocketResponse[bool]]:
    """A session and a WebSocket connection with every timeout bounded."""
    options: dict[str, Any] = {
        "timeout": aiohttp.ClientWSTimeout(ws_receive=TIMEOUT, ws_close=TIMEOUT),
        "max_msg_size": 2**21,
    }
    options.update(kwargs)
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=TIMEOUT)) as s,
        s.ws_connect(url, **options) as ws,
    ):
        yield ws


async def _send(ws: aiohttp.ClientWebSocketResponse[bool], data: str | bytes) -> None:
    if isinstance(data, str):
        await ws.send_str(data)
    else:
        await ws.send_bytes(data)


async def _recv(ws: aiohttp.ClientWebSocketResponse[bool]) -> str | bytes:
    message = await ws.receive(timeout=TIMEOUT)
    assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), message
    data: str | bytes = message.data
    return data


@kind_and_size
async def test_echo_sizes(echo_server: MockServer, kind: Kind, size: int) -> None:
    """A text or binary message of each length form is echoed and recorded as one masked frame."""
    data = payload(kind, size)
    async with _ws_connect(echo_server.url) as ws:
        await _send(ws, data)
        assert await _recv(ws) == data
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_echoed_once(conn, data)


async def test_client_ping_gets_pong(echo_server: MockServer) -> None:
    """A client ping is answered by the server's pong, which aiohttp surfaces with autoping off."""
    async with _ws_connect(echo_server.url, autoping=False) as ws:
        await ws.ping(b"hi")
        message = await ws.receive(timeout=TIMEOUT)
        assert message.type is aiohttp.WSMsgType.PONG
        assert message.data == b"hi"
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_client_ping_answered(conn, b"hi")


async def test_server_ping_gets_pong(ws_server: MockServer) -> None:
    """A ping from the handler is answered by aiohttp's automatic pong."""
    ws_server.handler(ping_then_echo)
    async with _ws_connect(ws_server.url) as ws:
        assert await _recv(ws) == "pinged"
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert_server_ping_answered(conn)


async def test_server_ping_seen_with_autoping_off(ws_server: MockServer) -> None:
    """With autoping off, aiohttp hands the server's ping to the test, which pongs by hand."""
    ws_server.handler(ping_then_echo)
    async with _ws_connect(ws_server.url, autoping=False) as ws:
        message = await ws.receive(timeout=TIMEOUT)
        assert message.type is aiohttp.WSMsgType.PING
        assert message.data == b"x"
        await ws.pong(message.data)
        assert await _recv(ws) == "pinged"
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert_server_ping_answered(conn)


async def test_client_close_with_code_and_reason(echo_server: MockServer) -> None:
    """close(code=4000, message=...) is recorded; the server echoes the code, closes TCP first."""
    async with _ws_connect(echo_server.url) as ws:
        await ws.send_str("hello")
        assert await _recv(ws) == "hello"
        assert await ws.close(code=CLIENT_CLOSE_CODE, message=CLIENT_CLOSE_REASON.encode())
        assert ws.closed
        assert ws.close_code == CLIENT_CLOSE_CODE
    conn = await echo_server.connection()
    info = await conn.wait_closed_async()
    assert_client_initiated_close(info, CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
    assert_close_frames(
        conn,
        close_payload(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON),
        close_payload(CLIENT_CLOSE_CODE),
    )


async def test_server_close_with_code_and_reason(ws_server: MockServer) -> None:
    """A handler's close(4001, "bye") arrives as a CLOSE message; aiohttp answers it."""
    ws_server.handler(close_4001_after_first_message)
    async with _ws_connect(ws_server.url) as ws:
        await ws.send_str("hello")
        message = await ws.receive(timeout=TIMEOUT)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == SERVER_CLOSE_CODE
        assert message.extra == SERVER_CLOSE_REASON
        assert ws.closed
        assert ws.close_code == SERVER_CLOSE_CODE
    conn = await ws_server.connection()
    info = await conn.wait_closed_async()
    # aiohttp answers a close frame with 1000 and no reason, not with the server's code.
    assert_server_initiated_close(info, client_code=1000, client_reason="")
    assert conn.received_texts == ["hello"]
    (client_close,) = frames_of(conn, Direction.CLIENT, Opcode.CLOSE)
    assert client_close.payload == close_payload(1000)


@pytest.mark.wsmock(subprotocols=["chat"])
async def test_subprotocol_selected(echo_server: MockServer) -> None:
    """The server picks "chat" from ["superchat", "chat"] and the client agrees."""
    async with _ws_connect(echo_server.url, protocols=OFFERED_SUBPROTOCOLS) as ws:
        assert ws.protocol == "chat"
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_subprotocol_chat(conn)


async def test_no_deflate_offer_by_default(echo_server: MockServer) -> None:
    """aiohttp offers no extension unless compress is set, so nothing is compressed."""
    async with _ws_connect(echo_server.url) as ws:
        assert ws.compress == 0
        await ws.send_str(COMPRESSIBLE_TEXT)
        assert await _recv(ws) == COMPRESSIBLE_TEXT
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.request is not None
    assert conn.request.extensions == ()
    assert_not_deflated(conn, COMPRESSIBLE_TEXT)


async def test_permessage_deflate(echo_server: MockServer) -> None:
    """With compress=15 aiohttp offers permessage-deflate; messages go compressed both ways."""
    async with _ws_connect(echo_server.url, compress=15) as ws:
        assert ws.compress == 15
        await ws.send_str(COMPRESSIBLE_TEXT)
        assert await _recv(ws) == COMPRESSIBLE_TEXT
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.request is not None
    assert [e.name for e in conn.request.extensions] == ["permessage-deflate"]
    assert_deflated(conn, COMPRESSIBLE_TEXT)


@pytest.mark.wsmock(deflate=False)
async def test_permessage_deflate_disabled(echo_server: MockServer) -> None:
    """With deflate=False the offer is declined; aiohttp falls back to no compression."""
    async with _ws_connect(echo_server.url, compress=15) as ws:
        assert ws.compress == 0
        await ws.send_str(COMPRESSIBLE_TEXT)
        assert await _recv(ws) == COMPRESSIBLE_TEXT
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.request is not None
    assert [e.name for e in conn.request.extensions] == ["permessage-deflate"]
    assert_not_deflated(conn, COMPRESSIBLE_TEXT)


async def test_wss_with_client_ssl_context(echo_wss_server: MockServer) -> None:
    """wss:// works with the context from client_ssl_context()."""
    async with _ws_connect(echo_wss_server.url, ssl=echo_wss_server.client_ssl_context()) as ws:
        await ws.send_str("over tls")
        assert await _recv(ws) == "over tls"
    conn = await echo_wss_server.connection()
    await conn.wait_closed_async()
    assert_tls_connection(conn, "over tls")


async def test_wss_with_ca_path(echo_wss_server: MockServer) -> None:
    """wss:// works with a default context that trusts the CA file at ca_path."""
    context = ssl.create_default_context(cafile=str(echo_wss_server.ca_path))
    async with _ws_connect(echo_wss_server.url, ssl=context) as ws:
        await ws.send_str("over tls")
        assert await _recv(ws) == "over tls"
    conn = await echo_wss_server.connection()
    await conn.wait_closed_async()
    assert_tls_connection(conn, "over tls")


async def test_request_record(echo_server: MockServer) -> None:
    """Path, query, Origin and custom headers are recorded as aiohttp sent them."""
    url = echo_server.url_for("/feed/v1?room=7&name=a%20b")
    async with _ws_connect(url, origin="https://app.example", headers={"X-Token": "s3cret"}):
        pass
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_request_basics(conn, "/feed/v1", "room=7&name=a%20b", echo_server.port)
    request = conn.request
    assert request is not None
    assert request.query_params == {"room": ["7"], "name": ["a b"]}
    assert request.origin == "https://app.example"
    assert request.headers.get("X-Token") == "s3cret"
    assert (request.headers.get("User-Agent") or "").startswith("Python/")


async def test_no_origin_by_default(echo_server: MockServer) -> None:
    """aiohttp sends no Origin header unless told to."""
    async with _ws_connect(echo_server.url):
        pass
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.request is not None
    assert conn.request.origin is None


async def test_compressed_json_reads_decoded_in_the_transcript(echo_server: MockServer) -> None:
    """aiohttp with compress=15: both directions' frames are compressed on the wire, and the
    transcript shows them decoded, as compact JSON, with their size on the wire."""
    value = {"type": "subscribe", "payload": {"channel": "orders", "filter": "x" * 40}}
    async with _ws_connect(echo_server.url, compress=15) as ws:
        await ws.send_json(value)  # json.dumps with its default separators
        assert (await ws.receive_json(timeout=TIMEOUT)) == value
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    data = [f for f in conn.frames if not f.is_control]
    assert [f.rsv1 for f in data] == [True, True]
    lines = [line for line in conn.transcript().splitlines() if " TEXT " in line]
    compact = '{"type":"subscribe","payload":{"channel":"orders","filter":"' + "x" * 40 + '"}}'
    for frame, line in zip(data, lines, strict=True):
        assert line.endswith(
            f"(deflate, {len(frame.payload)} B on the wire)  (compacted) {compact}"
        )
