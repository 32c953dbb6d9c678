"""The proxy with faults and rules on the relay, for each client library the issue names
(websockets is in test_proxy.py; here aiohttp and websocket-client), and what the two legs
negotiate: permessage-deflate on each, a subprotocol the upstream does not take."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
import websocket
import websockets.exceptions
import websockets.sync.client
from websockets.sync.server import ServerConnection
from websockets.typing import Subprotocol

from pytest_wsmock import Fault, Handshake, MockServer, expect_json, send_json, send_text
from pytest_wsmock._factory import ServerFactory

from .conftest import RealServerFactory


def _ticker(ws: ServerConnection) -> None:
    for n in range(5):
        ws.send(json.dumps({"tick": n}))
    for _ in ws:  # until the proxy goes away
        pass


def test_aiohttp_through_a_drop_after_the_second_upstream_message(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    ws_server.proxy_to(real_server(_ticker).url).after_upstream(2, Fault.drop())

    async def client() -> tuple[list[object], aiohttp.WSMsgType]:
        got: list[object] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(ws_server.url, timeout=aiohttp.ClientWSTimeout(ws_close=2)) as ws,
        ):
            while True:
                message = await ws.receive(timeout=5)
                if message.type is not aiohttp.WSMsgType.TEXT:
                    return got, message.type
                got.append(json.loads(message.data))

    got, ending = asyncio.run(client())
    assert got == [{"tick": 0}, {"tick": 1}]
    assert ending in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR)
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    assert not info.server_sent  # dropped: no close frame to the client
    assert conn.upstream is not None
    assert conn.upstream.close is not None
    # The fault is on the client's leg: the proxy closes the upstream leg properly.
    assert conn.upstream.close.client_code == 1000


def test_aiohttp_with_rules_on_both_ways(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    def feed(ws: ServerConnection) -> None:
        for message in ws:
            ws.send(json.dumps({"for": json.loads(message)["id"], "price": 7}))

    proxy = ws_server.proxy_to(real_server(feed).url)
    ws_server.on(expect_json({"type": "ping"}), send_json({"type": "pong"}))
    proxy.on_upstream(expect_json({"for": 2}, subset=True), send_json({"for": 2, "price": 0}))

    async def client() -> list[object]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(ws_server.url, timeout=aiohttp.ClientWSTimeout(ws_close=2)) as ws,
        ):
            got = []
            for sent in ({"type": "ping"}, {"id": 1}, {"id": 2}):
                await ws.send_str(json.dumps(sent))
                got.append(json.loads((await ws.receive(timeout=5)).data))
            return got

    assert asyncio.run(client()) == [
        {"type": "pong"},
        {"for": 1, "price": 7},
        {"for": 2, "price": 0},
    ]
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.upstream is not None
    # The ping was answered by the rule, not relayed.
    assert [json.loads(t) for t in conn.upstream.received_texts] == [{"id": 1}, {"id": 2}]


def test_websocket_client_through_a_reset_after_the_first_upstream_message(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    ws_server.proxy_to(real_server(_ticker).url).after_upstream(1, Fault.reset())
    client = websocket.create_connection(ws_server.url, timeout=5)
    try:
        assert json.loads(client.recv()) == {"tick": 0}
        # What follows the reset: an error, or the end of the stream; nothing more arrives.
        try:
            after = client.recv()
        except (websocket.WebSocketConnectionClosedException, OSError):
            after = ""
        assert not after
    finally:
        client.close()
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    assert info.tcp_end == "rst"
    assert conn.upstream is not None
    assert conn.upstream.close is not None
    assert conn.upstream.close.client_code == 1000


def test_websocket_client_with_an_injected_message_and_a_delay(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    proxy = ws_server.proxy_to(real_server().url).after_upstream(1, send_text("injected"))
    proxy.delay(0.1, direction="to_upstream")
    client = websocket.create_connection(ws_server.url, timeout=5)
    try:
        client.send("a")
        assert client.recv() == "echo: a"
        assert client.recv() == "injected"
    finally:
        client.close()
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.upstream is not None
    assert conn.upstream.received[0].time - conn.received[0].time >= 0.1


def test_permessage_deflate_is_negotiated_on_each_leg(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    ws_server.proxy_to(real_server().url)
    big = "compressible " * 500
    with websockets.sync.client.connect(
        ws_server.url, open_timeout=5, close_timeout=2, proxy=None
    ) as ws:
        ws.send(big)
        assert ws.recv(timeout=5) == "echo: " + big
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    upstream = conn.upstream
    assert upstream is not None
    assert conn.extensions is not None
    assert "permessage-deflate" in conn.extensions
    assert upstream.extensions is not None
    assert "permessage-deflate" in upstream.extensions
    # Compressed on both wires, whole and equal after inflating.
    assert conn.received[0].compressed
    assert upstream.received[0].compressed
    assert upstream.sent[0].compressed
    assert conn.sent[0].compressed
    assert upstream.received[0].text == big
    assert conn.sent[0].text == "echo: " + big
    wire = [f for f in upstream.frames if f.opcode_name == "TEXT"]
    assert all(f.rsv1 for f in wire)
    assert sum(len(f.payload) for f in wire) < len(big)
    # Each message is timed as its last frame on the upstream leg (the transcript pairs them).
    last = next(f for f in upstream.frames if f.direction.value == "server" and f.fin)
    assert upstream.sent[0].time == last.time


def test_deflate_on_the_upstream_leg_only(
    ws_server_factory: ServerFactory, real_server: RealServerFactory
) -> None:
    proxy = ws_server_factory(deflate=False)  # the client's leg stays uncompressed
    proxy.proxy_to(real_server().url)
    with websockets.sync.client.connect(
        proxy.url, open_timeout=5, close_timeout=2, proxy=None
    ) as ws:
        ws.send("x" * 1000)
        assert ws.recv(timeout=5) == "echo: " + "x" * 1000
    conn = proxy.wait_for_connection()
    conn.wait_closed()
    assert conn.upstream is not None
    assert not conn.extensions
    assert not conn.received[0].compressed
    assert conn.upstream.received[0].compressed


def test_a_subprotocol_the_upstream_refuses_is_its_refusal(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    # websockets' server answers 400 when it supports none of the offered subprotocols.
    ws_server.proxy_to(real_server(subprotocols=("v2.feed",)).url)
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        websockets.sync.client.connect(
            ws_server.url, subprotocols=[Subprotocol("v9.feed")], open_timeout=5, proxy=None
        )
    assert info.value.response.status_code == 400
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.response is not None
    assert conn.response.status == 400
    assert any("refused" in note and "400" in note for note in conn.notes)


def test_a_subprotocol_the_upstream_does_not_pick_is_not_picked_by_the_proxy(
    ws_server_factory: ServerFactory,
) -> None:
    upstream = ws_server_factory()
    upstream.handshake(Handshake.accept(subprotocol=None))
    upstream.script(expect_json({"a": 1}), send_json({"b": 2}))
    # The proxy's own option would pick v9.feed: the upstream's choice (none) wins.
    proxy = ws_server_factory(subprotocols=("v9.feed",))
    proxy.proxy_to(upstream.url)
    with websockets.sync.client.connect(
        proxy.url,
        subprotocols=[Subprotocol("v9.feed")],
        open_timeout=5,
        close_timeout=2,
        proxy=None,
    ) as ws:
        assert ws.subprotocol is None
        ws.send(json.dumps({"a": 1}))
        assert json.loads(ws.recv(timeout=5)) == {"b": 2}
    conn = proxy.wait_for_connection()
    conn.wait_closed()
    assert conn.subprotocol is None
    assert conn.upstream is not None
    assert conn.upstream.request is not None
    assert list(conn.upstream.request.subprotocols) == ["v9.feed"]
