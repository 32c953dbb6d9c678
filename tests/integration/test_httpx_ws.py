"""httpx-ws (``connect_ws`` on ``httpx.Client``, ``aconnect_ws`` on ``httpx.AsyncClient``).

httpx-ws offers no permessage-deflate, so its deflate test checks that nothing is negotiated.
It fragments when given wsproto events with ``message_finished=False``.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import httpx
import pytest
from httpx_ws import (
    AsyncWebSocketSession,
    WebSocketDisconnect,
    WebSocketSession,
    aconnect_ws,
    connect_ws,
)
from wsproto.events import BytesMessage, TextMessage

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
    assert_client_ping_answered,
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

_SESSION_OPTIONS: dict[str, Any] = {
    "max_message_size_bytes": 2**21,  # the default, 64 KiB, is below the largest case
    "keepalive_ping_interval_seconds": None,  # no keepalive pings in the record
}


@contextmanager
def _connect(
    url: str, *, verify: ssl.SSLContext | bool = True, **kwargs: Any
) -> Iterator[WebSocketSession]:
    with (
        httpx.Client(timeout=TIMEOUT, verify=verify, trust_env=False) as client,
        connect_ws(url, client, **_SESSION_OPTIONS, **kwargs) as ws,
    ):
        yield ws


@asynccontextmanager
async def _aconnect(
    url: str, *, verify: ssl.SSLContext | bool = True, **kwargs: Any
) -> AsyncIterator[AsyncWebSocketSession]:
    with anyio.fail_after(4 * TIMEOUT):
        async with (
            httpx.AsyncClient(timeout=TIMEOUT, verify=verify, trust_env=False) as client,
            aconnect_ws(url, client, **_SESSION_OPTIONS, **kwargs) as ws,
        ):
            yield ws


def _recv(ws: WebSocketSession) -> str | bytes:
    event = ws.receive(timeout=TIMEOUT)
    assert isinstance(event, (TextMessage, BytesMessage)), event
    return event.data if isinstance(event, TextMessage) else bytes(event.data)


async def _arecv(ws: AsyncWebSocketSession) -> str | bytes:
    event = await ws.receive(timeout=TIMEOUT)
    assert isinstance(event, (TextMessage, BytesMessage)), event
    return event.data if isinstance(event, TextMessage) else bytes(event.data)


# -- sync -----------------------------------------------------------------------------------


@kind_and_size
def test_echo_sizes_sync(echo_server: MockServer, kind: Kind, size: int) -> None:
    """A text or binary message of each length form is echoed and recorded as one masked frame."""
    data = payload(kind, size)
    with _connect(echo_server.url) as ws:
        if isinstance(data, str):
            ws.send_text(data)
        else:
            ws.send_bytes(data)
        assert _recv(ws) == data
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_echoed_once(conn, data)


def test_fragmented_wsproto_events_sync(echo_server: MockServer) -> None:
    """wsproto events with message_finished=False go out as CONTINUATION frames."""
    chunks = [b"frag-1 ", b"frag-2 ", b"frag-3"]
    with _connect(echo_server.url) as ws:
        for i, chunk in enumerate(chunks):
            ws.send(BytesMessage(data=chunk, message_finished=i == len(chunks) - 1))
        assert _recv(ws) == b"".join(chunks)
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_fragmented(conn, chunks, Opcode.BINARY)


def test_client_ping_gets_pong_sync(echo_server: MockServer) -> None:
    """ping() returns an event that is set when the server's pong arrives."""
    with _connect(echo_server.url) as ws:
        assert ws.ping(b"hi").wait(TIMEOUT)
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_client_ping_answered(conn, b"hi")


def test_server_ping_gets_pong_sync(ws_server: MockServer) -> None:
    """httpx-ws's background reader answers the handler's ping."""
    ws_server.handler(ping_then_echo)
    with _connect(ws_server.url) as ws:
        assert ws.receive_text(timeout=TIMEOUT) == "pinged"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert_server_ping_answered(conn)


def test_client_close_with_code_and_reason_sync(echo_server: MockServer) -> None:
    """close(4000, reason) is recorded; httpx-ws closes its stream without waiting for the
    server's close frame."""
    with _connect(echo_server.url) as ws:
        ws.send_text("hello")
        assert ws.receive_text(timeout=TIMEOUT) == "hello"
        ws.close(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
    conn = echo_server.wait_for_connection()
    info = conn.wait_closed()
    assert info.initiator is Direction.CLIENT
    assert (info.client_code, info.client_reason) == (CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
    assert info.server_sent
    assert info.server_code == CLIENT_CLOSE_CODE
    (client_close,) = frames_of(conn, Direction.CLIENT, Opcode.CLOSE)
    assert client_close.payload == close_payload(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)


def test_server_close_with_code_and_reason_sync(ws_server: MockServer) -> None:
    """A handler's close(4001, "bye") raises WebSocketDisconnect; httpx-ws answers with 1000."""
    ws_server.handler(close_4001_after_first_message)
    with _connect(ws_server.url) as ws:
        ws.send_text("hello")
        with pytest.raises(WebSocketDisconnect) as excinfo:
            ws.receive(timeout=TIMEOUT)
    assert (excinfo.value.code, excinfo.value.reason) == (SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    # httpx-ws answers a server's close frame with its own close(): 1000, no reason.
    assert_server_initiated_close(info, client_code=1000, client_reason="")
    assert conn.received_texts == ["hello"]


@pytest.mark.wsmock(subprotocols=["chat"])
def test_subprotocol_selected_sync(echo_server: MockServer) -> None:
    """The server picks "chat" from ["superchat", "chat"] and the client agrees."""
    with _connect(echo_server.url, subprotocols=OFFERED_SUBPROTOCOLS) as ws:
        assert ws.subprotocol == "chat"
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_subprotocol_chat(conn)


def test_no_extension_offered_sync(echo_server: MockServer) -> None:
    """httpx-ws offers no permessage-deflate, so nothing is negotiated or compressed."""
    with _connect(echo_server.url) as ws:
        ws.send_text(COMPRESSIBLE_TEXT)
        assert ws.receive_text(timeout=TIMEOUT) == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.request is not None
    assert conn.request.extensions == ()
    assert_not_deflated(conn, COMPRESSIBLE_TEXT)


def test_wss_with_client_ssl_context_sync(echo_wss_server: MockServer) -> None:
    """wss:// works with httpx.Client(verify=client_ssl_context())."""
    with _connect(echo_wss_server.url, verify=echo_wss_server.client_ssl_context()) as ws:
        ws.send_text("over tls")
        assert ws.receive_text(timeout=TIMEOUT) == "over tls"
    conn = echo_wss_server.wait_for_connection()
    conn.wait_closed()
    assert_tls_connection(conn, "over tls")


def test_wss_with_ca_path_sync(echo_wss_server: MockServer) -> None:
    """wss:// works with a context that trusts the CA file at ca_path."""
    context = ssl.create_default_context(cafile=str(echo_wss_server.ca_path))
    with _connect(echo_wss_server.url, verify=context) as ws:
        ws.send_text("over tls")
        assert ws.receive_text(timeout=TIMEOUT) == "over tls"
    conn = echo_wss_server.wait_for_connection()
    conn.wait_closed()
    assert_tls_connection(conn, "over tls")


def test_request_record_sync(echo_server: MockServer) -> None:
    """Path, query and headers (Origin included) are recorded as httpx sent them."""
    url = echo_server.url_for("/feed/v1?room=7&name=a%20b")
    headers = {"Origin": "https://app.example", "X-Token": "s3cret"}
    with _connect(url, headers=headers):
        pass
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_request_basics(conn, "/feed/v1", "room=7&name=a%20b", echo_server.port)
    request = conn.request
    assert request is not None
    assert request.query_params == {"room": ["7"], "name": ["a b"]}
    assert request.origin == "https://app.example"
    assert request.headers.get("X-Token") == "s3cret"
    assert (request.headers.get("User-Agent") or "").startswith("python-httpx/")


# -- async ----------------------------------------------------------------------------------


@kind_and_size
@pytest.mark.asyncio
async def test_echo_sizes_async(echo_server: MockServer, kind: Kind, size: int) -> None:
    """The async session echoes every length form, recorded as one masked frame."""
    data = payload(kind, size)
    async with _aconnect(echo_server.url) as ws:
        if isinstance(data, str):
            await ws.send_text(data)
        else:
            await ws.send_bytes(data)
        assert await _arecv(ws) == data
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_echoed_once(conn, data)


@pytest.mark.asyncio
async def test_fragmented_wsproto_events_async(echo_server: MockServer) -> None:
    """The async session fragments text sent as unfinished wsproto events."""
    chunks = ["frag-1 ", "frag-2 ", "frag-3"]
    async with _aconnect(echo_server.url) as ws:
        for i, chunk in enumerate(chunks):
            await ws.send(TextMessage(data=chunk, message_finished=i == len(chunks) - 1))
        assert await _arecv(ws) == "".join(chunks)
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_fragmented(conn, [c.encode() for c in chunks], Opcode.TEXT)


@pytest.mark.asyncio
async def test_client_ping_gets_pong_async(echo_server: MockServer) -> None:
    """The async ping() event is set when the server's pong arrives."""
    async with _aconnect(echo_server.url) as ws:
        pong = await ws.ping(b"hi")
        with anyio.fail_after(TIMEOUT):
            await pong.wait()
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_client_ping_answered(conn, b"hi")


@pytest.mark.asyncio
async def test_server_ping_gets_pong_async(ws_server: MockServer) -> None:
    """The async session answers the handler's ping."""
    ws_server.handler(ping_then_echo)
    async with _aconnect(ws_server.url) as ws:
        assert await ws.receive_text(timeout=TIMEOUT) == "pinged"
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert_server_ping_answered(conn)


@pytest.mark.asyncio
async def test_server_close_with_code_and_reason_async(ws_server: MockServer) -> None:
    """The async session raises WebSocketDisconnect(4001, "bye") and answers with 1000."""
    ws_server.handler(close_4001_after_first_message)
    async with _aconnect(ws_server.url) as ws:
        await ws.send_text("hello")
        with pytest.raises(WebSocketDisconnect) as excinfo:
            await ws.receive(timeout=TIMEOUT)
    assert (excinfo.value.code, excinfo.value.reason) == (SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)
    conn = await ws_server.connection()
    info = await conn.wait_closed_async()
    assert_server_initiated_close(info, client_code=1000, client_reason="")


@pytest.mark.wsmock(subprotocols=["chat"])
@pytest.mark.asyncio
async def test_subprotocol_selected_async(echo_server: MockServer) -> None:
    """The async session gets "chat" selected from ["superchat", "chat"]."""
    async with _aconnect(echo_server.url, subprotocols=OFFERED_SUBPROTOCOLS) as ws:
        assert ws.subprotocol == "chat"
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_subprotocol_chat(conn)


@pytest.mark.asyncio
async def test_wss_with_client_ssl_context_async(echo_wss_server: MockServer) -> None:
    """wss:// works with httpx.AsyncClient(verify=client_ssl_context())."""
    context = echo_wss_server.client_ssl_context()
    async with _aconnect(echo_wss_server.url, verify=context) as ws:
        await ws.send_text("over tls")
        assert await ws.receive_text(timeout=TIMEOUT) == "over tls"
    conn = await echo_wss_server.connection()
    await conn.wait_closed_async()
    assert_tls_connection(conn, "over tls")
