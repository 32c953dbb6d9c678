"""The fixtures in async tests (pytest-asyncio, anyio on asyncio and trio) and the trio backend."""

from __future__ import annotations

import pytest

from ._support import write_ini

ASYNCIO_TEST = """
import pytest
import websockets

from pytest_wsmock import echo


@pytest.mark.{mark}
async def test_echo(ws_server):
    ws_server.handler(echo)
    async with websockets.connect(ws_server.url_for("/async")) as ws:
        await ws.send("ping?")
        assert await ws.recv() == "ping?"
    conn = await ws_server.connection()
    info = await conn.wait_closed_async()
    assert conn.path == "/async"
    assert conn.received_texts == ["ping?"]
    assert info.code == 1000
    messages = await conn.wait_for_messages_async(1)
    assert [m.text for m in messages] == ["ping?"]
"""


def test_pytest_asyncio(pytester: pytest.Pytester) -> None:
    """Under pytest-asyncio, the awaitable waits work with a websockets asyncio client."""
    write_ini(pytester)
    pytester.makepyfile(ASYNCIO_TEST.format(mark="asyncio"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_anyio_plugin_on_asyncio(pytester: pytest.Pytester) -> None:
    """Under anyio's pytest plugin with the asyncio backend, the awaitable waits work."""
    write_ini(pytester)
    pytester.makepyfile(
        ASYNCIO_TEST.format(mark="anyio")
        + """

@pytest.fixture
def anyio_backend():
    return "asyncio"
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_blocking_wait_in_async_test_names_the_awaitable_form(pytester: pytest.Pytester) -> None:
    """A blocking wait called inside an event loop raises at once, naming the awaitable form."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest

        from pytest_wsmock import BlockingCallError


        @pytest.mark.asyncio
        async def test_blocking(ws_server):
            with pytest.raises(BlockingCallError, match="await server.connection"):
                ws_server.wait_for_connection(timeout=0.1)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


TRIO_TESTS = """
import anyio
import pytest
import trio_websocket

from pytest_wsmock import echo


@pytest.fixture
def anyio_backend():
    return "trio"


@pytest.mark.anyio
async def test_trio_websocket(ws_server):
    ws_server.handler(echo)
    async with trio_websocket.open_websocket_url(ws_server.url_for("/trio")) as ws:
        await ws.send_message("from trio")
        assert await ws.get_message() == "from trio"
    conn = await ws_server.connection()
    info = await conn.wait_closed_async()
    assert conn.received_texts == ["from trio"]
    assert info.code == 1000


@pytest.mark.anyio
async def test_raw_handshake_over_anyio(ws_server):
    stream = await anyio.connect_tcp("127.0.0.1", ws_server.port)
    async with stream:
        await stream.send(
            b"GET /raw HTTP/1.1\\r\\nHost: localhost:%d\\r\\nUpgrade: websocket\\r\\n"
            b"Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n"
            b"Sec-WebSocket-Version: 13\\r\\n\\r\\n" % ws_server.port
        )
        head = b""
        while b"\\r\\n\\r\\n" not in head:
            head += await stream.receive()
        # A masked close frame (zero mask key), then the server's answer, then its FIN.
        await stream.send(b"\\x88\\x82\\x00\\x00\\x00\\x00\\x03\\xe8")
        rest = head.partition(b"\\r\\n\\r\\n")[2]
        while True:
            try:
                rest += await stream.receive()
            except anyio.EndOfStream:
                break
    assert rest == b"\\x88\\x02\\x03\\xe8"
    assert head.startswith(b"HTTP/1.1 101 ")
    # RFC 6455 section 1.3's own example key and accept value.
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    conn = await ws_server.connection()
    info = await conn.wait_closed_async()
    assert conn.accepted
    assert conn.path == "/raw"
    assert info.code == 1000 and info.clean
"""


def test_anyio_plugin_on_trio(pytester: pytest.Pytester) -> None:
    """Under anyio's pytest plugin with the trio backend, trio clients and waits work."""
    write_ini(pytester)
    pytester.makepyfile(TRIO_TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


SERVER_BACKEND_TEST = """
import threading

import websockets.sync.client

from pytest_wsmock import echo


def test_server_runs_on_trio(ws_server):
    assert ws_server.options.backend == "trio"
    ws_server.handler(echo)
    with websockets.sync.client.connect(ws_server.url) as ws:
        ws.send("over trio")
        assert ws.recv() == "over trio"
    assert ws_server.wait_for_connection().received_texts == ["over trio"]
    names = [thread.name for thread in threading.enumerate()]
    assert any(name.startswith("trio-portal-") for name in names), names
"""


def test_server_backend_trio_from_ini(pytester: pytest.Pytester) -> None:
    """wsmock_backend = trio runs the mock server's own event loop on trio."""
    write_ini(pytester, "wsmock_backend = trio")
    pytester.makepyfile(SERVER_BACKEND_TEST)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_server_backend_trio_from_option(pytester: pytest.Pytester) -> None:
    """--wsmock-backend trio overrides the ini key and runs the server on trio."""
    write_ini(pytester, "wsmock_backend = asyncio")
    pytester.makepyfile(SERVER_BACKEND_TEST)
    result = pytester.runpytest_subprocess("--wsmock-backend", "trio")
    result.assert_outcomes(passed=1)


def test_wsmock_backend_option_rejects_unknown_backends(pytester: pytest.Pytester) -> None:
    """--wsmock-backend only takes asyncio or trio, and says so."""
    write_ini(pytester)
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--wsmock-backend", "curio")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--wsmock-backend*invalid choice*curio*"])
