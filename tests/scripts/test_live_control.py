"""Live control from the test body: send to one connection or to all, close, and wait, in
blocking form (sync tests) and awaitable form (asyncio and trio tests)."""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import ExitStack

import pytest
import trio
import websockets
from trio_websocket import ConnectionClosed as ConnectionClosedTrio
from trio_websocket import open_websocket_url
from websockets.exceptions import ConnectionClosed as ClientClosed

from pytest_wsmock import ConnectionClosed, MockServer, WaitTimeout, silent

from ._support import TIMEOUT, assert_frame_listed, sync_client

SHORT = 0.2


def test_send_to_one_connection(ws_server: MockServer) -> None:
    """conn.send_text / send_binary / send_json reach that connection's client only."""
    with sync_client(ws_server.url) as first, sync_client(ws_server.url) as second:
        conn0 = ws_server.wait_for_connection(0, timeout=TIMEOUT)
        ws_server.wait_for_connection(1, timeout=TIMEOUT)
        conn0.send_text("only you")
        conn0.send_binary(b"\x00\x01")
        conn0.send_json({"seq": 1})
        assert first.recv(timeout=TIMEOUT) == "only you"
        assert first.recv(timeout=TIMEOUT) == b"\x00\x01"
        assert json.loads(first.recv(timeout=TIMEOUT)) == {"seq": 1}
        with pytest.raises(TimeoutError):
            second.recv(timeout=SHORT)
    assert [m.value for m in conn0.sent] == ["only you", b"\x00\x01", '{"seq": 1}']


def test_broadcast_to_every_connection(ws_server: MockServer) -> None:
    """Looping over ws_server.connections sends to every connected client."""
    with ExitStack() as stack:
        clients = [stack.enter_context(sync_client(ws_server.url)) for _ in range(3)]
        ws_server.wait_for_connection(2, timeout=TIMEOUT)
        for conn in ws_server.connections:
            conn.send_text("to all")
        assert [client.recv(timeout=TIMEOUT) for client in clients] == ["to all"] * 3


def test_live_ping_is_answered(ws_server: MockServer) -> None:
    """conn.ping(payload) sends a ping now; the client's pong is recorded."""
    with sync_client(ws_server.url) as client:
        conn = ws_server.wait_for_connection(timeout=TIMEOUT)
        conn.ping(b"hb")
        conn.send_text("after the ping")
        assert client.recv(timeout=TIMEOUT) == "after the ping"  # the pong went out first
        client.send("ack")
        assert conn.wait_for_message(timeout=TIMEOUT).text == "ack"
    assert conn.pongs == [b"hb"]


def test_send_close(ws_server: MockServer) -> None:
    """conn.send_close(code, reason) runs the closing handshake and returns how it ended."""
    with sync_client(ws_server.url) as client:
        conn = ws_server.wait_for_connection(timeout=TIMEOUT)
        info = conn.send_close(4002, "maintenance")
        with pytest.raises(ClientClosed) as caught:
            client.recv(timeout=TIMEOUT)
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4002, "maintenance")
    assert (info.server_code, info.server_reason, info.code) == (4002, "maintenance", 4002)
    assert info.clean
    assert conn.close == info


def test_close_every_connection(ws_server: MockServer) -> None:
    """Looping send_close over ws_server.connections closes them all."""
    with sync_client(ws_server.url) as first, sync_client(ws_server.url) as second:
        ws_server.wait_for_connection(1, timeout=TIMEOUT)
        infos = [conn.send_close(1001, "shutting down") for conn in ws_server.connections]
        for client in (first, second):
            with pytest.raises(ClientClosed):
                client.recv(timeout=TIMEOUT)
    assert [info.server_code for info in infos] == [1001, 1001]


def test_sending_on_a_closed_connection_raises(ws_server: MockServer) -> None:
    """Live sends on a connection that has ended raise ConnectionClosed, saying why."""
    with sync_client(ws_server.url) as client:
        client.send("bye")
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    with pytest.raises(
        ConnectionClosed, match=r"cannot send TEXT on connection #0 \(GET /\): it is closed"
    ):
        conn.send_text("too late")


def test_live_sends_are_thread_safe(ws_server: MockServer) -> None:
    """Several threads sending at once: every message arrives whole, each thread's in order."""
    with sync_client(ws_server.url) as client:
        conn = ws_server.wait_for_connection(timeout=TIMEOUT)

        def sender(name: str) -> None:
            for number in range(50):
                conn.send_text(f"{name}:{number}")

        threads = [threading.Thread(target=sender, args=(name,)) for name in "abcd"]
        for thread in threads:
            thread.start()
        received = [client.recv(timeout=TIMEOUT) for _ in range(200)]
        for thread in threads:
            thread.join(TIMEOUT)
    assert isinstance(received[0], str)
    for name in "abcd":
        mine = [int(str(m).split(":")[1]) for m in received if str(m).startswith(f"{name}:")]
        assert mine == list(range(50))


def test_blocking_waits(ws_server: MockServer) -> None:
    """wait_for_message, wait_for_messages and wait_closed return what the client did."""
    ws_server.handler(silent)
    with sync_client(ws_server.url) as client:
        client.send("one")
        client.send(b"two")
        conn = ws_server.wait_for_connection(timeout=TIMEOUT)
        assert conn.wait_for_message(timeout=TIMEOUT).text == "one"
        assert conn.wait_for_message(timeout=TIMEOUT).data == b"two"
        client.send("three")
        assert conn.wait_for_message(timeout=TIMEOUT).text == "three"
        assert [m.value for m in conn.wait_for_messages(3, timeout=TIMEOUT)] == [
            "one",
            b"two",
            "three",
        ]
        client.close(4000, "done")
    info = conn.wait_closed(timeout=TIMEOUT)
    assert (info.code, info.reason) == (4000, "done")


# -- timeouts say what did arrive ---------------------------------------------------------


def test_wait_for_connection_timeout_lists_the_connections(ws_server: MockServer) -> None:
    """Waiting for a connection that never comes names it and lists those that came."""
    with pytest.raises(WaitTimeout) as caught:
        ws_server.wait_for_connection(timeout=SHORT)
    assert str(caught.value) == (
        f"timed out after {SHORT} s waiting for connection #0 to {ws_server.url}; "
        "instead: no connection arrived"
    )
    with sync_client(ws_server.url_for("/feed")):
        ws_server.wait_for_connection(0, timeout=TIMEOUT)
        with pytest.raises(WaitTimeout) as caught:
            ws_server.wait_for_connection(1, timeout=SHORT)
    text = str(caught.value)
    assert f"waiting for connection #1 to {ws_server.url}" in text
    assert "instead: connection #0 (GET /feed): 0 frames; open" in text


def test_wait_for_messages_timeout_lists_what_arrived(ws_server: MockServer) -> None:
    """Waiting for more messages than came lists those that did."""
    with sync_client(ws_server.url) as client:
        client.send("hello")
        conn = ws_server.wait_for_connection(timeout=TIMEOUT)
        conn.wait_for_message(timeout=TIMEOUT)
        with pytest.raises(WaitTimeout) as caught:
            conn.wait_for_messages(3, timeout=SHORT)
        with pytest.raises(WaitTimeout) as caught_next:
            conn.wait_for_message(timeout=SHORT)
    text = str(caught.value)
    assert text.startswith(
        f"timed out after {SHORT} s waiting for 3 message(s) from the client on "
        "connection #0 (GET /); instead: 1 arrived; connection #0 (GET /): 1 frames; open\n"
        "  last frames seen:\n"
    )
    assert_frame_listed(text, "client -> server", "TEXT", "'hello'")
    assert "waiting for 2 message(s)" in str(caught_next.value)
    assert "1 arrived; " in str(caught_next.value)
    assert_frame_listed(str(caught_next.value), "client -> server", "TEXT", "'hello'")


def test_wait_closed_timeout_describes_the_connection(ws_server: MockServer) -> None:
    """Waiting for a close that does not come says the connection is still open."""
    with sync_client(ws_server.url) as client:
        client.send("still here")
        conn = ws_server.wait_for_connection(timeout=TIMEOUT)
        conn.wait_for_message(timeout=TIMEOUT)
        with pytest.raises(WaitTimeout) as caught:
            conn.wait_closed(timeout=SHORT)
    assert str(caught.value) == (
        f"timed out after {SHORT} s waiting for connection #0 (GET /) to close; "
        "instead: connection #0 (GET /): 1 frames; open"
    )


def test_wait_for_messages_when_the_connection_ends_first(ws_server: MockServer) -> None:
    """A wait for messages ends at once when the connection closes, listing what came."""
    with sync_client(ws_server.url) as client:
        client.send("only one")
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    with pytest.raises(WaitTimeout, match=r"the connection ended while waiting for 2 message"):
        conn.wait_for_messages(2, timeout=TIMEOUT)


# -- awaitable forms ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_awaitable_forms_under_asyncio(ws_server: MockServer) -> None:
    """The _async forms send, ping, wait and close without blocking the test's event loop."""
    async with websockets.connect(
        ws_server.url, open_timeout=TIMEOUT, ping_interval=None, proxy=None
    ) as client:
        conn = await ws_server.connection(timeout=TIMEOUT)
        await conn.send_text_async("text")
        await conn.send_binary_async(b"bin")
        await conn.send_json_async([1, 2])
        await conn.ping_async(b"p")
        assert [await client.recv() for _ in range(3)] == ["text", b"bin", "[1, 2]"]

        async def client_sends_later() -> None:
            await asyncio.sleep(0.05)
            await client.send("late")

        # The wait runs in a worker thread: the client task makes progress meanwhile.
        message, _ = await asyncio.gather(
            conn.wait_for_message_async(timeout=TIMEOUT), client_sends_later()
        )
        assert message.text == "late"
        assert len(await conn.wait_for_messages_async(1, timeout=TIMEOUT)) == 1
        with pytest.raises(WaitTimeout, match=r"1 arrived; (?s:.*)client -> server .* 'late'"):
            await conn.wait_for_messages_async(2, timeout=SHORT)
        closing = asyncio.ensure_future(conn.send_close_async(1000, "bye"))
        with pytest.raises(ClientClosed):
            await asyncio.wait_for(client.recv(), TIMEOUT)
        info = await asyncio.wait_for(closing, TIMEOUT)
    assert (info.server_code, info.server_reason) == (1000, "bye")
    assert (await conn.wait_closed_async(timeout=TIMEOUT)) == info
    assert conn.pongs == [b"p"]


@pytest.fixture
def anyio_backend() -> str:
    """The anyio tests of this module run on trio (asyncio is covered by pytest-asyncio)."""
    return "trio"


@pytest.mark.anyio
async def test_awaitable_forms_under_trio(ws_server: MockServer) -> None:
    """The same _async forms work in a trio test (anyio's pytest plugin)."""
    with trio.fail_after(4 * TIMEOUT):
        async with open_websocket_url(
            ws_server.url, connect_timeout=TIMEOUT, disconnect_timeout=TIMEOUT
        ) as client:
            conn = await ws_server.connection(timeout=TIMEOUT)
            await conn.send_text_async("from the test")
            assert await client.get_message() == "from the test"
            await client.send_message("from trio")
            assert (await conn.wait_for_message_async(timeout=TIMEOUT)).text == "from trio"
            with pytest.raises(WaitTimeout, match=r"1 arrived"):
                await conn.wait_for_messages_async(2, timeout=SHORT)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(conn.send_close_async, 4000, "trio bye")
                with pytest.raises(ConnectionClosedTrio) as caught:
                    await client.get_message()
                # trio-websocket 0.12.2 does not close its socket after a closing handshake
                # the server started (see tests/integration/_aclients.py).
                await client._close_stream()
            reason = caught.value.reason
            assert reason is not None
            assert (reason.code, reason.reason) == (4000, "trio bye")
        info = await conn.wait_closed_async(timeout=TIMEOUT)
    assert (info.server_code, info.server_reason) == (4000, "trio bye")
    assert info.client_sent
