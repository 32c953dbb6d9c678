"""websockets' asyncio client (``websockets.asyncio.client``) against the mock server."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError
from websockets.typing import Origin, Subprotocol

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
    as_bytes,
    assert_client_initiated_close,
    assert_client_ping_answered,
    assert_close_frames,
    assert_deflated,
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
    kind_and_size,
    payload,
    ping_then_echo,
)

pytestmark = pytest.mark.asyncio


def _connect(url: str, **kwargs: Any) -> connect:
    """``connect`` with bounded timeouts, no proxy and no keepalive pings in the record."""
    options: dict[str, Any] = {
        "open_timeout": TIMEOUT,
        "close_timeout": TIMEOUT,
        "ping_interval": None,
        "proxy": None,
        "max_size": 2**21,
    }
    options.update(kwargs)
    return connect(url, **options)


async def _recv(ws: ClientConnection) -> str | bytes:
    return await asyncio.wait_for(ws.recv(), TIMEOUT)


@kind_and_size
async def test_echo_sizes(echo_server: MockServer, kind: Kind, size: int) -> None:
    """A text or binary message of each length form is echoed and recorded as one masked frame."""
    data = payload(kind, size)
    async with _connect(echo_server.url, compression=None) as ws:
        await ws.send(data)
        assert await _recv(ws) == data
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_echoed_once(conn, data)


@pytest.mark.parametrize("kind", ["text", "binary"])
async def test_fragmented_iterable(echo_server: MockServer, kind: Kind) -> None:
    """send(iterable) goes out as fragments that the server reassembles into one message."""
    chunks: list[str] | list[bytes] = (
        ["frag-1 ", "frag-2 ", "frag-3"] if kind == "text" else [b"\x00\x01", b"\x02", b"\x03\x04"]
    )
    async with _connect(echo_server.url, compression=None) as ws:
        await ws.send(chunks)
        echoed = await _recv(ws)
    assert type(echoed) is type(chunks[0])
    assert as_bytes(echoed) == b"".join(as_bytes(c) for c in chunks)
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    opcode = Opcode.TEXT if kind == "text" else Opcode.BINARY
    # websockets ends an iterable with an empty final CONTINUATION frame.
    assert_fragmented(conn, [as_bytes(c) for c in chunks], opcode, empty_final_frame=True)


async def test_fragmented_async_iterable(echo_server: MockServer) -> None:
    """send(async iterable) is fragmented too, and reassembled by the server."""

    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"aa", b"bb", b"cc", b"dd"):
            yield piece

    async with _connect(echo_server.url, compression=None) as ws:
        await ws.send(pieces())
        assert await _recv(ws) == b"aabbccdd"
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_fragmented(conn, [b"aa", b"bb", b"cc", b"dd"], Opcode.BINARY, empty_final_frame=True)


async def test_fragmented_and_compressed(echo_server: MockServer) -> None:
    """A fragmented compressed message has RSV1 on its first frame only and is reassembled."""
    chunks = [COMPRESSIBLE_TEXT[:3000], COMPRESSIBLE_TEXT[3000:]]
    async with _connect(echo_server.url) as ws:
        await ws.send(chunks)
        assert await _recv(ws) == COMPRESSIBLE_TEXT
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    frames = [f for f in conn.frames if f.direction is Direction.CLIENT and f.opcode < 3]
    assert len(frames) >= 2
    assert [f.rsv1 for f in frames] == [True] + [False] * (len(frames) - 1)
    assert [f.fin for f in frames] == [False] * (len(frames) - 1) + [True]
    (message,) = conn.received
    assert message.compressed
    assert message.frames == len(frames)
    assert message.text == COMPRESSIBLE_TEXT


async def test_client_ping_gets_pong(echo_server: MockServer) -> None:
    """A client ping is answered by the server's automatic pong with the same payload."""
    async with _connect(echo_server.url) as ws:
        pong_waiter = await ws.ping(b"hi")
        latency = await asyncio.wait_for(pong_waiter, TIMEOUT)
        assert latency >= 0
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_client_ping_answered(conn, b"hi")


async def test_server_ping_gets_pong(ws_server: MockServer) -> None:
    """A ping from the handler is answered by the client's pong, recorded in conn.pongs."""
    ws_server.handler(ping_then_echo)
    async with _connect(ws_server.url) as ws:
        assert await _recv(ws) == "pinged"
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert_server_ping_answered(conn)


async def test_client_close_with_code_and_reason(echo_server: MockServer) -> None:
    """close(4000, reason) is recorded; the server echoes the code and closes TCP first."""
    async with _connect(echo_server.url) as ws:
        await ws.send("hello")
        assert await _recv(ws) == "hello"
        await ws.close(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
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
    """A handler's close(4001, "bye") reaches the client, which echoes the code."""
    ws_server.handler(close_4001_after_first_message)
    async with _connect(ws_server.url) as ws:
        await ws.send("hello")
        with pytest.raises(ConnectionClosedError) as excinfo:
            await _recv(ws)
        assert ws.close_code == SERVER_CLOSE_CODE
        assert ws.close_reason == SERVER_CLOSE_REASON
    closed = excinfo.value
    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)
    assert closed.sent is not None
    assert closed.sent.code == SERVER_CLOSE_CODE
    assert closed.rcvd_then_sent is True
    conn = await ws_server.connection()
    info = await conn.wait_closed_async()
    # websockets echoes both the code and the reason.
    assert_server_initiated_close(
        info, client_code=SERVER_CLOSE_CODE, client_reason=SERVER_CLOSE_REASON
    )
    assert conn.received_texts == ["hello"]


@pytest.mark.wsmock(subprotocols=["chat"])
async def test_subprotocol_selected(echo_server: MockServer) -> None:
    """The server picks "chat" from ["superchat", "chat"] and the client agrees."""
    offered = [Subprotocol(p) for p in OFFERED_SUBPROTOCOLS]
    async with _connect(echo_server.url, subprotocols=offered) as ws:
        assert ws.subprotocol == "chat"
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_subprotocol_chat(conn)


async def test_no_subprotocol_configured(echo_server: MockServer) -> None:
    """With no subprotocols configured, the server selects none and the client accepts that."""
    offered = [Subprotocol(p) for p in OFFERED_SUBPROTOCOLS]
    async with _connect(echo_server.url, subprotocols=offered) as ws:
        assert ws.subprotocol is None
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.subprotocol is None
    assert conn.response is not None
    assert "Sec-WebSocket-Protocol" not in conn.response.headers


async def test_permessage_deflate(echo_server: MockServer) -> None:
    """websockets offers permessage-deflate by default; messages go compressed both ways."""
    async with _connect(echo_server.url) as ws:
        assert [e.name for e in ws.protocol.extensions] == ["permessage-deflate"]
        await ws.send(COMPRESSIBLE_TEXT)
        assert await _recv(ws) == COMPRESSIBLE_TEXT
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.request is not None
    assert [e.name for e in conn.request.extensions] == ["permessage-deflate"]
    assert_deflated(conn, COMPRESSIBLE_TEXT)


@pytest.mark.wsmock(deflate=False)
async def test_permessage_deflate_disabled(echo_server: MockServer) -> None:
    """With deflate=False the offer is declined and nothing is compressed."""
    async with _connect(echo_server.url) as ws:
        assert ws.protocol.extensions == []
        await ws.send(COMPRESSIBLE_TEXT)
        assert await _recv(ws) == COMPRESSIBLE_TEXT
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.request is not None
    assert [e.name for e in conn.request.extensions] == ["permessage-deflate"]
    assert_not_deflated(conn, COMPRESSIBLE_TEXT)


async def test_wss_with_client_ssl_context(echo_wss_server: MockServer) -> None:
    """wss:// works with the context from client_ssl_context()."""
    assert echo_wss_server.url.startswith("wss://")
    async with _connect(echo_wss_server.url, ssl=echo_wss_server.client_ssl_context()) as ws:
        await ws.send("over tls")
        assert await _recv(ws) == "over tls"
    conn = await echo_wss_server.connection()
    await conn.wait_closed_async()
    assert_tls_connection(conn, "over tls")


async def test_wss_with_ca_path(echo_wss_server: MockServer) -> None:
    """wss:// works with a default context that trusts the CA file at ca_path."""
    context = ssl.create_default_context(cafile=str(echo_wss_server.ca_path))
    async with _connect(echo_wss_server.url, ssl=context) as ws:
        await ws.send("over tls")
        assert await _recv(ws) == "over tls"
    conn = await echo_wss_server.connection()
    await conn.wait_closed_async()
    assert_tls_connection(conn, "over tls")


async def test_request_record(echo_server: MockServer) -> None:
    """Path, query, Origin, custom headers and the extension offer are recorded as sent."""
    url = echo_server.url_for("/feed/v1?room=7&name=a%20b")
    async with _connect(
        url,
        origin=Origin("https://app.example"),
        additional_headers={"X-Token": "s3cret"},
        user_agent_header="wsmock-test/1.0",
    ):
        pass
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_request_basics(conn, "/feed/v1", "room=7&name=a%20b", echo_server.port)
    request = conn.request
    assert request is not None
    assert request.query_params == {"room": ["7"], "name": ["a b"]}
    assert request.origin == "https://app.example"
    assert request.headers.get("x-token") == "s3cret"
    assert request.headers.get("User-Agent") == "wsmock-test/1.0"
    assert request.subprotocols == ()
    assert "permessage-deflate" in (request.headers.get("Sec-WebSocket-Extensions") or "")
    assert conn.path == "/feed/v1"


async def test_no_origin_by_default(echo_server: MockServer) -> None:
    """websockets sends no Origin header unless told to."""
    async with _connect(echo_server.url):
        pass
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.request is not None
    assert conn.request.origin is None
    assert conn.request.path == "/"
