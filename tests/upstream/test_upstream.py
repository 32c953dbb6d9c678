"""The proxy's upstream leg against websockets' server: plain and TLS, every failure, the record."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest
import trustme
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed as WsClosed
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.sync.server import serve as sync_serve

from pytest_wsmock import ConfigError, ConnectionClosed, WsmockError
from pytest_wsmock._protocol import Direction, Opcode
from pytest_wsmock._upstream import Upstream, UpstreamError

TIMEOUT = 10.0
Handler = Callable[[ServerConnection], Awaitable[None]]

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """websockets' asyncio server runs in the test's loop."""
    return "asyncio"


async def echo(ws: ServerConnection) -> None:
    with contextlib.suppress(WsClosed):
        async for message in ws:
            await ws.send(message)


@contextlib.asynccontextmanager
async def upstream_server(
    handler: Handler = echo, *, scheme: str = "ws", **kwargs: Any
) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0, ping_interval=None, **kwargs) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"{scheme}://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


# -- a working leg, and its record ----------------------------------------------------------


async def test_messages_both_ways_and_the_record() -> None:
    async with upstream_server() as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url + "/feed?x=1", headers=[("X-Test", "yes")])
            assert up.response.status == 101
            assert (up.subprotocol, up.extensions) == (None, None)
            await up.send("hello")
            await up.send(b"\x00\x01")
            assert await up.receive() == "hello"
            assert await up.receive() == b"\x00\x01"
            await up.close()
    record = up.record
    assert record.request is not None
    assert record.request.target == "/feed?x=1"
    assert record.request.headers["X-Test"] == "yes"
    assert record.accepted
    assert [m.value for m in record.received] == ["hello", b"\x00\x01"]  # what we sent
    assert [m.value for m in record.sent] == ["hello", b"\x00\x01"]  # what the upstream sent
    ours = [f for f in record.frames if f.direction is Direction.CLIENT]
    theirs = [f for f in record.frames if f.direction is Direction.SERVER]
    assert all(f.masked for f in ours)
    assert not any(f.masked for f in theirs)
    assert [f.opcode for f in ours] == [Opcode.TEXT, Opcode.BINARY, Opcode.CLOSE]
    assert [f.opcode for f in theirs] == [Opcode.TEXT, Opcode.BINARY, Opcode.CLOSE]
    info = record.close
    assert info is not None
    assert info.initiator is Direction.CLIENT
    assert (info.client_code, info.server_code) == (1000, 1000)
    assert info.tcp_closed_by is Direction.SERVER  # RFC 6455 section 7.1.1
    assert info.clean
    assert up.closed
    transcript = record.transcript()
    assert "GET /feed?x=1" in transcript
    assert "'hello'" in transcript


async def test_target_overrides_the_url_path_and_host_header() -> None:
    seen: list[WsRequest] = []

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen.append(ws.request)
        await ws.close()

    async with upstream_server(handler) as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url + "/ignored", target="/chat?room=2")
            assert await up.receive() is None
    assert seen[0].path == "/chat?room=2"
    assert seen[0].headers["Host"] == url.removeprefix("ws://")


async def test_upstream_closes_first() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("last words")
        await ws.close(4000, "done")

    async with upstream_server(handler) as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url)
            assert await up.receive() == "last words"
            assert await up.receive() is None
            assert await up.receive() is None
            await up.close()  # idempotent
            with pytest.raises(ConnectionClosed):
                await up.send("too late")
    assert (up.close_code, up.close_reason) == (4000, "done")
    info = up.record.close
    assert info is not None
    assert info.initiator is Direction.SERVER
    assert (info.server_code, info.server_reason, info.client_code) == (4000, "done", 4000)
    assert info.clean


async def test_close_while_another_task_receives() -> None:
    async with upstream_server() as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url)
            got: list[str | bytes | None] = []
            first = anyio.Event()

            async def reader() -> None:
                while (message := await up.receive()) is not None:
                    got.append(message)
                    first.set()
                got.append(None)

            async with anyio.create_task_group() as tg:
                tg.start_soon(reader)
                await up.send("one")
                await first.wait()
                await up.close(1001, "going")
    assert got == ["one", None]
    info = up.record.close
    assert info is not None
    assert (info.initiator, info.client_code, info.client_reason) == (
        Direction.CLIENT,
        1001,
        "going",
    )
    assert info.server_sent


async def test_pings_are_answered() -> None:
    async def handler(ws: ServerConnection) -> None:
        waiter = await ws.ping(b"are you there")
        await waiter
        await ws.send("ponged")
        await echo(ws)

    async with upstream_server(handler) as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url)
            assert await up.receive() == "ponged"
            await up.close()
    pongs = [f for f in up.record.frames if f.opcode == Opcode.PONG]
    assert [(f.direction, f.payload) for f in pongs] == [(Direction.CLIENT, b"are you there")]


async def test_deflate_and_subprotocol() -> None:
    async with upstream_server(subprotocols=["v2", "v1"]) as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url, subprotocols=["v1"], deflate=True)
            assert up.subprotocol == "v1"
            assert up.extensions is not None
            assert up.extensions.startswith("permessage-deflate")
            text = "compress me " * 1000
            await up.send(text)
            assert await up.receive() == text
            await up.close()
    assert [m.compressed for m in up.record.messages] == [True, True]
    assert up.record.subprotocol == "v1"
    sent_frame = next(f for f in up.record.frames if f.opcode == Opcode.TEXT)
    assert sent_frame.rsv1
    assert len(sent_frame.payload) < len(text) // 10


async def test_abort_resets_tcp() -> None:
    async with upstream_server() as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url)
            await up.abort()
            await up.abort()
            assert await up.receive() is None
    info = up.record.close
    assert info is not None
    assert (info.client_sent, info.tcp_end, info.tcp_closed_by) == (False, "rst", Direction.CLIENT)


async def test_message_over_the_limit_fails_the_leg() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("x" * 2000)
        await echo(ws)

    async with upstream_server(handler) as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url, max_message_size=1000)
            assert await up.receive() is None
    assert [v.kind for v in up.record.violations] == ["frame-too-large"]
    info = up.record.close
    assert info is not None
    assert info.client_code == 1009


# -- TLS ------------------------------------------------------------------------------------


async def test_wss_with_a_trusted_ca(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    async with upstream_server(scheme="wss", ssl=server_context) as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url + "/secure", ssl=client_context)
            await up.send("over tls")
            assert await up.receive() == "over tls"
            await up.close()
    assert up.record.close is not None
    assert up.record.close.clean


async def test_wss_with_an_untrusted_ca(server_context: ssl.SSLContext) -> None:
    other = ssl.create_default_context()
    trustme.CA().configure_trust(other)
    async with upstream_server(scheme="wss", ssl=server_context) as url:
        with anyio.fail_after(TIMEOUT), pytest.raises(UpstreamError) as caught:
            await Upstream.connect(url, ssl=other)
    assert caught.value.cause.startswith("TLS: certificate verify failed")
    assert caught.value.status is None


# -- every UpstreamError cause --------------------------------------------------------------


async def test_refused_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with anyio.fail_after(TIMEOUT), pytest.raises(UpstreamError) as caught:
        await Upstream.connect(f"ws://127.0.0.1:{port}/")
    error = caught.value
    assert error.cause == f"connection refused by 127.0.0.1:{port}"
    assert str(error) == f"upstream ws://127.0.0.1:{port}/: {error.cause}"
    assert isinstance(error, WsmockError)
    assert type(error).__module__ == "pytest_wsmock"
    assert (error.status, error.response, error.record) == (None, None, None)


async def test_server_that_never_answers() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with anyio.fail_after(TIMEOUT), pytest.raises(UpstreamError) as caught:
            await Upstream.connect(f"ws://127.0.0.1:{port}/", timeout=0.3)
    error = caught.value
    assert error.cause == "no answer to the opening handshake within 0.3 s"
    assert error.record is not None
    assert error.record.request is not None
    assert error.record.closed


async def test_refusal_403_with_its_body() -> None:
    def refuse(ws: ServerConnection, request: WsRequest) -> WsResponse:
        return ws.respond(403, "no entry\n")

    async with upstream_server(process_request=refuse) as url:
        with anyio.fail_after(TIMEOUT), pytest.raises(UpstreamError) as caught:
            await Upstream.connect(url)
    error = caught.value
    assert error.cause == "answered 403 Forbidden"
    assert error.status == 403
    assert error.response is not None
    assert error.response.body == b"no entry\n"
    assert error.record is not None
    assert error.record.response == error.response
    assert not error.record.accepted


async def test_wrong_accept() -> None:
    def spoil(ws: ServerConnection, request: WsRequest, response: WsResponse) -> None:
        del response.headers["Sec-WebSocket-Accept"]
        response.headers["Sec-WebSocket-Accept"] = "d3Jvbmc="
        response.headers["X-Spoiled"] = "yes"

    async with upstream_server(process_response=spoil) as url:
        with anyio.fail_after(TIMEOUT), pytest.raises(UpstreamError) as caught:
            await Upstream.connect(url)
    error = caught.value
    assert error.cause.startswith("wrong Sec-WebSocket-Accept 'd3Jvbmc='")
    assert error.status is None
    assert error.response is not None
    assert error.response.headers["X-Spoiled"] == "yes"
    assert error.record is not None
    assert any("wrong Sec-WebSocket-Accept" in note for note in error.record.notes)


async def test_upstream_error_pickles_without_its_record() -> None:
    """Exported as pytest_wsmock.UpstreamError, it survives pickle (xdist sends errors
    between processes); its record stays behind."""
    import pickle

    import pytest_wsmock

    error = UpstreamError("ws://h/", "answered 403 Forbidden", 403)
    assert pytest_wsmock.UpstreamError is UpstreamError
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is UpstreamError
    assert (copy.url, copy.cause, copy.status, copy.record) == (
        "ws://h/",
        "answered 403 Forbidden",
        403,
        None,
    )
    assert str(copy) == str(error)


@pytest.mark.parametrize("url", ["http://example.com/", "example.com", "ws://", "ws://h:99999/"])
async def test_bad_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="ws://"):
        await Upstream.connect(url)


# -- trio -----------------------------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_under_trio_against_a_threaded_server() -> None:
    def handler(ws: Any) -> None:
        for message in ws:
            ws.send(message)

    with sync_serve(handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        try:
            with anyio.fail_after(TIMEOUT):
                up = await Upstream.connect(f"ws://127.0.0.1:{port}/", deflate=True)
                await up.send("trio")
                assert await up.receive() == "trio"
                await up.close()
        finally:
            server.shutdown()
            thread.join(TIMEOUT)
    assert up.record.close is not None
    assert up.record.close.clean


async def test_upstream_drops_tcp_without_a_close_frame() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("bye")
        ws.transport.close()

    async with upstream_server(handler) as url:
        with anyio.fail_after(TIMEOUT):
            up = await Upstream.connect(url)
            assert await up.receive() == "bye"
            assert await up.receive() is None
    assert up.close_code is None
    info = up.record.close
    assert info is not None
    assert (info.server_sent, info.client_sent, info.tcp_closed_by) == (
        False,
        False,
        Direction.SERVER,
    )
    assert any("without a close frame" in note for note in up.record.notes)
