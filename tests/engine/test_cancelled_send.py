"""A send from a scope that is already cancelled raises before anything is recorded or written
(found in review of issue 12's write lock: the record must never list a frame the client did
not get, and a close that was not sent must not start the closing handshake)."""

from __future__ import annotations

import anyio
import pytest

from pytest_wsmock import Direction, ServerFactory, WebSocket

from ..compliance._raw import RawClient

BACKENDS = ["asyncio", "trio"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_send_in_a_cancelled_scope_is_neither_recorded_nor_sent(
    ws_server_factory: ServerFactory, backend: str
) -> None:
    server = ws_server_factory(backend=backend)

    @server.handler
    async def handler(ws: WebSocket) -> None:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await ws.send_text("cancelled")
        await ws.send_text("after")
        async for _ in ws:
            pass

    with RawClient.connect(server.host, server.port) as client:
        first = client.read_frame()
        client.send_close(1000)
        assert client.read_close().close_code == 1000
    assert first.payload == b"after"
    conn = server.wait_for_connection()
    conn.wait_closed(timeout=5)
    assert [m.text for m in conn.messages if m.direction is Direction.SERVER] == ["after"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_close_in_a_cancelled_scope_does_not_start_the_closing_handshake(
    ws_server_factory: ServerFactory, backend: str
) -> None:
    server = ws_server_factory(backend=backend, close_timeout=0.5)

    @server.handler
    async def handler(ws: WebSocket) -> None:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await ws.close(1000)
        await ws.send_text("still open")
        async for _ in ws:
            pass

    with RawClient.connect(server.host, server.port) as client:
        assert client.read_frame().payload == b"still open"
        client.send_close(1000)
        assert client.read_close().close_code == 1000
    conn = server.wait_for_connection()
    info = conn.wait_closed(timeout=5)
    assert info.client_sent
    assert info.server_code == 1000
    server.check()  # no violation charged to the client
