"""trio-websocket (``open_websocket_url``) against the mock server, under trio via anyio.

trio-websocket has no public API to fragment a message or to offer permessage-deflate, so
its deflate test checks that nothing is negotiated when nothing is offered.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from pytest_wsmock import MockServer

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

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """trio-websocket runs on trio only."""
    backend: str = request.param
    return backend


@asynccontextmanager
async def _connect(url: str, **kwargs: Any) -> AsyncIterator[WebSocketConnection]:
    """A connection whose connect, every receive and the disconnect are bounded in time."""
    options: dict[str, Any] = {
        "connect_timeout": TIMEOUT,
        "disconnect_timeout": TIMEOUT,
        "max_message_size": 2**21,
    }
    options.update(kwargs)
    with trio.fail_after(4 * TIMEOUT):
        async with open_websocket_url(url, **options) as ws:
            yield ws


async def _recv(ws: WebSocketConnection) -> str | bytes:
    with trio.fail_after(TIMEOUT):
        return await ws.get_message()


@kind_and_size
async def test_echo_sizes(echo_server: MockServer, kind: Kind, size: int) -> None:
    """A text or binary message of each length form is echoed and recorded as one masked frame."""
    data = payload(kind, size)
    async with _connect(echo_server.url) as ws:
        await ws.send_message(data)
        assert await _recv(ws) == data
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_echoed_once(conn, data)


async def test_client_ping_gets_pong(echo_server: MockServer) -> None:
    """ping() returns once the server's pong with the same payload arrived."""
    async with _connect(echo_server.url) as ws:
        with trio.fail_after(TIMEOUT):
            await ws.ping(b"hi")
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_client_ping_answered(conn, b"hi")


async def test_server_ping_gets_pong(ws_server: MockServer) -> None:
    """trio-websocket answers the handler's ping by itself."""
    ws_server.handler(ping_then_echo)
    async with _connect(ws_server.url) as ws:
        assert await _recv(ws) == "pinged"
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert_server_ping_answered(conn)


async def test_client_close_with_code_and_reason(echo_server: MockServer) -> None:
    """aclose(4000, reason) is recorded; the server echoes the code and closes TCP first."""
    async with _connect(echo_server.url) as ws:
        await ws.send_message("hello")
        assert await _recv(ws) == "hello"
        await ws.aclose(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
        assert ws.closed is not None
        assert ws.closed.code == CLIENT_CLOSE_CODE
    conn = await echo_server.connection()
    info = await conn.wait_closed_async()
    assert_client_initiated_close(info, CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
    assert_close_frames(
        conn,
        close_payload(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON),
        close_payload(CLIENT_CLOSE_CODE),
    )


async def test_server_close_with_code_and_reason(ws_server: MockServer) -> None:
    """A handler's close(4001, "bye") raises ConnectionClosed with that code and reason."""
    ws_server.handler(close_4001_after_first_message)
    async with _connect(ws_server.url) as ws:
        await ws.send_message("hello")
        with pytest.raises(ConnectionClosed) as excinfo:
            await _recv(ws)
        # trio-websocket 0.12.2 never closes its socket after a closing handshake that the
        # server started (its reader stops at the server's FIN without closing the stream):
        # the server would wait close_timeout for the client's FIN, and the socket would leak
        # (ResourceWarning). Close it the way the library should.
        await ws._close_stream()
    reason = excinfo.value.reason
    assert reason is not None
    assert (reason.code, reason.reason) == (SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)
    conn = await ws_server.connection()
    info = await conn.wait_closed_async()
    # trio-websocket answers with wsproto's response(): code and reason echoed.
    assert_server_initiated_close(
        info, client_code=SERVER_CLOSE_CODE, client_reason=SERVER_CLOSE_REASON
    )
    assert conn.received_texts == ["hello"]


@pytest.mark.wsmock(subprotocols=["chat"])
async def test_subprotocol_selected(echo_server: MockServer) -> None:
    """The server picks "chat" from ["superchat", "chat"] and the client agrees."""
    async with _connect(echo_server.url, subprotocols=OFFERED_SUBPROTOCOLS) as ws:
        assert ws.subprotocol == "chat"
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_subprotocol_chat(conn)


async def test_no_extension_offered(echo_server: MockServer) -> None:
    """trio-websocket offers no permessage-deflate, so nothing is negotiated or compressed."""
    async with _connect(echo_server.url) as ws:
        await ws.send_message(COMPRESSIBLE_TEXT)
        assert await _recv(ws) == COMPRESSIBLE_TEXT
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.request is not None
    assert conn.request.extensions == ()
    assert_not_deflated(conn, COMPRESSIBLE_TEXT)


async def test_wss_with_client_ssl_context(echo_wss_server: MockServer) -> None:
    """wss:// works with the context from client_ssl_context()."""
    async with _connect(
        echo_wss_server.url, ssl_context=echo_wss_server.client_ssl_context()
    ) as ws:
        await ws.send_message("over tls")
        assert await _recv(ws) == "over tls"
    conn = await echo_wss_server.connection()
    await conn.wait_closed_async()
    assert_tls_connection(conn, "over tls")


async def test_wss_with_ca_path(echo_wss_server: MockServer) -> None:
    """wss:// works with a default context that trusts the CA file at ca_path."""
    context = ssl.create_default_context(cafile=str(echo_wss_server.ca_path))
    async with _connect(echo_wss_server.url, ssl_context=context) as ws:
        await ws.send_message("over tls")
        assert await _recv(ws) == "over tls"
    conn = await echo_wss_server.connection()
    await conn.wait_closed_async()
    assert_tls_connection(conn, "over tls")


async def test_request_record(echo_server: MockServer) -> None:
    """Path, query and extra headers (Origin included) are recorded as sent."""
    url = echo_server.url_for("/feed/v1?room=7&name=a%20b")
    headers = [(b"Origin", b"https://app.example"), (b"X-Token", b"s3cret")]
    async with _connect(url, extra_headers=headers):
        pass
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert_request_basics(conn, "/feed/v1", "room=7&name=a%20b", echo_server.port)
    request = conn.request
    assert request is not None
    assert request.query_params == {"room": ["7"], "name": ["a b"]}
    assert request.origin == "https://app.example"
    assert request.headers.get("X-Token") == "s3cret"


async def test_no_origin_by_default(echo_server: MockServer) -> None:
    """trio-websocket sends no Origin header unless given one."""
    async with _connect(echo_server.url):
        pass
    conn = await echo_server.connection()
    await conn.wait_closed_async()
    assert conn.request is not None
    assert conn.request.origin is None
