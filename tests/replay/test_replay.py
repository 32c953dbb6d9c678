"""Replaying cassettes to real clients: websockets (sync and asyncio), aiohttp and
websocket-client, on both anyio backends of the server."""

from __future__ import annotations

import json

import aiohttp
import pytest
import websocket
import websockets.asyncio.client
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pytest_wsmock import Direction, MockServer, ServerFactory, send_text
from pytest_wsmock._cassette import CassetteResponse

from ..scripts._support import TIMEOUT, sync_client
from ._cassettes import TRADING, cassette, client, closed_by, connection, server

BACKENDS = ["asyncio", "trio"]
#: Repetitions of the main test on each backend (its outcome must not depend on timing).
REPEAT = 10

SUBSCRIBE = '{"op": "subscribe", "symbol": "BTC", "id": 7}'


def trade(url: str) -> list[str]:
    """The client side of TRADING with websockets' sync client; what it received."""
    with sync_client(url) as ws:
        ws.send("hello")
        received = [ws.recv(timeout=TIMEOUT)]
        ws.send(SUBSCRIBE)
        received += [ws.recv(timeout=TIMEOUT), ws.recv(timeout=TIMEOUT)]
    return [str(item) for item in received]


@pytest.mark.parametrize("n", range(REPEAT))
@pytest.mark.parametrize("backend", BACKENDS)
def test_conversation_both_ways_in_order(
    ws_server_factory: ServerFactory, backend: str, n: int
) -> None:
    """Each server message goes out once the client messages recorded before it came and
    matched; the client's close is expected where the recording has it (websockets sync)."""
    ws_server = ws_server_factory(backend=backend)
    replay = ws_server.replay(cassette(TRADING))
    assert trade(ws_server.url_for("/trade")) == ["welcome", '{"tick": 1}', '{"tick": 2}']
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    assert conn.script_failure is None
    assert conn.script is not None
    assert conn.script.done
    assert conn.received_texts == ["hello", SUBSCRIBE]
    assert [m.value for m in conn.sent] == ["welcome", '{"tick": 1}', '{"tick": 2}']
    # In wire order: no server message before the client message it answers.
    order = [(m.direction, m.value) for m in conn.messages]
    assert order == [
        (Direction.CLIENT, "hello"),
        (Direction.SERVER, "welcome"),
        (Direction.CLIENT, SUBSCRIBE),
        (Direction.SERVER, '{"tick": 1}'),
        (Direction.SERVER, '{"tick": 2}'),
    ]
    assert (info.client_code, info.server_code) == (1000, 1000)
    assert conn.handshake.id == "replay"
    assert conn.notes == []
    assert replay.unplayed() == []
    ws_server.check()


@pytest.mark.asyncio
async def test_server_first_binary_and_server_close(ws_server: MockServer) -> None:
    """Messages the server sent first, a binary one among them, and the server's close frame
    with its code and reason (websockets asyncio)."""
    ws_server.replay(
        cassette(
            connection(
                server("hi", 0.0),
                server(b"\x00\x01\xff", 0.001),
                client("ok", 0.01),
                closed_by("server", 4000, "maintenance", 0.02),
                closed_by("client", 4000, "maintenance", 0.021),
            )
        )
    )
    async with websockets.asyncio.client.connect(
        ws_server.url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, ping_interval=None
    ) as ws:
        assert await ws.recv() == "hi"
        assert await ws.recv() == b"\x00\x01\xff"
        await ws.send("ok")
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert (ws.close_code, ws.close_reason) == (4000, "maintenance")
    conn = await ws_server.connection()
    info = await conn.wait_closed_async()
    assert (info.server_code, info.server_reason) == (4000, "maintenance")
    assert conn.script_failure is None


@pytest.mark.asyncio
async def test_binary_both_ways_aiohttp(ws_server: MockServer) -> None:
    """Binary client messages are matched byte for byte, binary answers go back (aiohttp)."""
    ws_server.replay(
        cassette(
            connection(
                client(b"\x01\x02", 0.0),
                server(b"\xff" * 300, 0.01),
                client(json.dumps({"n": 1}), 0.02),
                server(json.dumps({"n": 2}), 0.03),
                closed_by("client", 1000, time=0.04),
            )
        )
    )
    timeout = aiohttp.ClientWSTimeout(ws_receive=TIMEOUT, ws_close=TIMEOUT)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_server.url, timeout=timeout) as ws,
    ):
        await ws.send_bytes(b"\x01\x02")
        assert await ws.receive_bytes() == b"\xff" * 300
        await ws.send_json({"n": 1})
        assert await ws.receive_json() == {"n": 2}
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert conn.script_failure is None
    assert conn.received_values == [b"\x01\x02", '{"n": 1}']


def test_websocket_client(ws_server: MockServer) -> None:
    """The same conversation with websocket-client."""
    ws_server.replay(cassette(TRADING))
    ws = websocket.create_connection(ws_server.url_for("/trade"), timeout=TIMEOUT)
    try:
        ws.send("hello")
        assert ws.recv() == "welcome"
        ws.send(SUBSCRIBE)
        assert [ws.recv(), ws.recv()] == ['{"tick": 1}', '{"tick": 2}']
    finally:
        ws.close()
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None


def test_recorded_refusal(ws_server: MockServer) -> None:
    """A recorded refusal is answered with its status, reason, headers and body; no script
    runs on it."""
    body = b'{"error": "banned"}'
    refused = CassetteResponse(
        403,
        "Go Away",
        (("Content-Type", "application/json"), ("X-Reason", "banned"), ("Content-Length", "19")),
        body,
    )
    ws_server.replay(cassette(connection(response=refused)))
    with pytest.raises(InvalidStatus) as caught, sync_client(ws_server.url):
        pass
    response = caught.value.response
    assert (response.status_code, response.reason_phrase) == (403, "Go Away")
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Reason"] == "banned"
    assert response.headers.get_all("Content-Length") == [str(len(body))]
    assert response.body == body
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.handshake.id == "replay-403"
    assert conn.script is None
    ws_server.check()


def test_recorded_subprotocol(ws_server: MockServer) -> None:
    """The recorded subprotocol is chosen when the client offers it."""
    recorded = CassetteResponse(101, "Switching Protocols", subprotocol="v2.chat")
    ws_server.replay(
        cassette(connection(server("hi"), response=recorded, subprotocols=("v1.chat", "v2.chat")))
    )
    with sync_client(ws_server.url, subprotocols=["v1.chat", "v2.chat"]) as ws:
        assert ws.subprotocol == "v2.chat"
        assert ws.recv(timeout=TIMEOUT) == "hi"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.subprotocol == "v2.chat"
    assert conn.notes == []


def test_recorded_subprotocol_not_offered_is_noted(ws_server: MockServer) -> None:
    """A client that does not offer the recorded subprotocol gets none, and a note says so."""
    recorded = CassetteResponse(101, subprotocol="v2.chat")
    ws_server.replay(cassette(connection(server("hi"), response=recorded)))
    with sync_client(ws_server.url, subprotocols=["v1.chat"]) as ws:
        assert ws.subprotocol is None
        assert ws.recv(timeout=TIMEOUT) == "hi"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.subprotocol is None
    assert conn.notes == [
        "replay: cassette connection #0 chose subprotocol 'v2.chat', which this client did not "
        "offer (it offered 'v1.chat'); answered without a subprotocol"
    ]


@pytest.mark.parametrize("offered", [True, False])
def test_recorded_deflate(ws_server: MockServer, offered: bool) -> None:
    """Recorded permessage-deflate is negotiated when the client offers it, else declined
    with a note; messages arrive either way."""
    recorded = CassetteResponse(101, extensions="permessage-deflate; server_max_window_bits=12")
    text = "tick tock " * 50
    ws_server.replay(cassette(connection(server(text), response=recorded)))
    with sync_client(ws_server.url, compression="deflate" if offered else None) as ws:
        assert ws.recv(timeout=TIMEOUT) == text
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    if offered:
        assert (conn.extensions or "").startswith("permessage-deflate")
        assert conn.sent[0].compressed
        assert conn.notes == []
    else:
        assert conn.extensions is None
        assert "this client did not offer it: answered without extensions" in conn.notes[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_recorded_timing_waits_the_gaps(ws_server_factory: ServerFactory, backend: str) -> None:
    """timing="recorded": each server message waits the recorded gap since the previous
    event; the frames' times on the record are at least that far apart."""
    ws_server = ws_server_factory(backend=backend)
    ws_server.replay(
        cassette(
            connection(server("a", 0.0), client("go", 0.05), server("b", 0.35), server("c", 0.55))
        ),
        timing="recorded",
    )
    with sync_client(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == "a"
        ws.send("go")
        assert [ws.recv(timeout=TIMEOUT), ws.recv(timeout=TIMEOUT)] == ["b", "c"]
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script is not None
    assert "wait(0.3)" in conn.script.steps
    assert "wait(0.2)" in conn.script.steps
    go = conn.received[0].time
    b, c = (m.time for m in conn.sent[1:])
    assert b - go >= 0.3 - 0.01  # the gap after the client's message (timer granularity)
    assert c - b >= 0.2 - 0.01
    assert conn.script_failure is None


def test_immediate_timing_sends_in_order_without_waits(ws_server: MockServer) -> None:
    """timing="immediate" (the default): the same cassette has no waits, the order is kept."""
    ws_server.replay(
        cassette(
            connection(server("a", 0.0), client("go", 0.05), server("b", 5.0), server("c", 9.0))
        )
    )
    with sync_client(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == "a"
        ws.send("go")
        assert [ws.recv(timeout=TIMEOUT), ws.recv(timeout=TIMEOUT)] == ["b", "c"]
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script is not None
    assert not any(step.startswith("wait(") for step in conn.script.steps)
    assert [m.value for m in conn.messages] == ["a", "go", "b", "c"]


def test_more_connections_than_recorded(ws_server: MockServer) -> None:
    """A connection after the last recorded one is refused with 503 and a note."""
    ws_server.replay(cassette(connection(server("only one"))))
    with sync_client(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == "only one"
    with pytest.raises(InvalidStatus) as caught, sync_client(ws_server.url):
        pass
    assert caught.value.response.status_code == 503
    assert b"the cassette has no connection #1 (it has 1)" in caught.value.response.body
    second = ws_server.wait_for_connection(1)
    second.wait_closed()
    note = "replay: the cassette has 1 connection(s); this is replayed connection #1: answered 503"
    assert second.notes == [note]
    assert ws_server.notes == [f"{second.label}: {note}"]


def test_connections_in_recorded_order_and_unplayed(ws_server: MockServer) -> None:
    """The n-th connection gets the n-th recorded one; those never requested are listed."""
    replay = ws_server.replay(
        cassette(
            connection(server("first"), path="/a"),
            connection(server("second"), path="/b"),
            connection(server("third"), client("x"), path="/c?token=FILTERED"),
        )
    )
    assert len(replay.unplayed()) == 3
    for path, greeting in (("/a", "first"), ("/b", "second")):
        with sync_client(ws_server.url_for(path)) as ws:
            assert ws.recv(timeout=TIMEOUT) == greeting
    assert replay.unplayed() == [
        "cassette connection #2 (GET /c?token=FILTERED, answered 101, 2 message(s)) was never "
        "requested"
    ]


def test_other_path_is_replayed_with_a_note(ws_server: MockServer) -> None:
    """A request for another path than the recorded one is replayed, with a note; the query
    is not compared."""
    ws_server.replay(cassette(connection(server("hi"), path="/feed?token=FILTERED")))
    with sync_client(ws_server.url_for("/other?token=abc")) as ws:
        assert ws.recv(timeout=TIMEOUT) == "hi"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.notes == [
        "replay: cassette connection #0 was recorded for '/feed', this request is for "
        "'/other'; replayed all the same"
    ]


def test_routes_come_first(ws_server: MockServer) -> None:
    """A connection a route serves is the route's, and uses up no recorded connection."""
    ws_server.replay(cassette(connection(server("replayed"))))
    ws_server.route("/health", script=[send_text("route")])
    with sync_client(ws_server.url_for("/health")) as ws:
        assert ws.recv(timeout=TIMEOUT) == "route"
    with sync_client(ws_server.url_for("/")) as ws:
        assert ws.recv(timeout=TIMEOUT) == "replayed"


def test_server_drop_without_close_frame(ws_server: MockServer) -> None:
    """A server that ended TCP without a close frame in the recording does it again (1006)."""
    ws_server.replay(
        cassette(connection(server("bye"), closed_by("server", None, time=0.01, frame=False)))
    )
    with sync_client(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == "bye"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=TIMEOUT)
        assert ws.close_code == 1006
    info = ws_server.wait_for_connection().wait_closed()
    assert (info.server_sent, info.tcp_closed_by) == (False, Direction.SERVER)


def test_other_client_close_code_is_noted(ws_server: MockServer) -> None:
    """The client's close is expected where recorded; another code is noted, not failed."""
    ws_server.replay(cassette(connection(server("hi"), closed_by("client", 1001, time=0.1))))
    with sync_client(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == "hi"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None
    assert conn.notes == [
        "cassette connection #0, the client's close: the recording has close code 1001, the "
        "client sent 1000 (noted, not failed)"
    ]
