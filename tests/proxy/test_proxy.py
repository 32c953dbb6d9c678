"""The proxy relays real clients to a real upstream (websockets' server), both legs recorded,
with faults, delays and rules on the way (docs/proxy.md)."""

from __future__ import annotations

import json
import socket
from typing import Any

import aiohttp
import pytest
import websocket
import websockets.exceptions
import websockets.sync.client
from websockets.sync.server import ServerConnection

from pytest_wsmock import ConfigError, Fault, MockServer, expect_json, send_json, send_text

from .conftest import RealServerFactory


def _connect(url: str, **kwargs: Any) -> websockets.sync.client.ClientConnection:
    connection: websockets.sync.client.ClientConnection = websockets.sync.client.connect(
        url, open_timeout=5, close_timeout=2, proxy=None, **kwargs
    )
    return connection


def test_messages_are_relayed_both_ways_and_both_legs_recorded(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    upstream = real_server()
    ws_server.proxy_to(upstream.url)
    with _connect(ws_server.url + "/feed?symbol=BTC") as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "echo: hello"
        ws.send(b"\x00\x01")
        assert ws.recv(timeout=5) == b"\x00\x01"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert upstream.requests[0].path == "/feed?symbol=BTC"
    assert conn.received_values == ["hello", b"\x00\x01"]
    assert [m.value for m in conn.sent] == ["echo: hello", b"\x00\x01"]
    assert conn.upstream is not None
    # The upstream leg, from the wire's point of view: what the upstream sent is its "sent".
    assert [m.value for m in conn.upstream.sent] == ["echo: hello", b"\x00\x01"]
    assert conn.upstream.received_values == ["hello", b"\x00\x01"]
    assert conn.upstream.request is not None
    assert conn.upstream.request.target == "/feed?symbol=BTC"
    assert conn.close is not None
    assert conn.close.client_code == 1000
    assert conn.upstream.close is not None
    assert conn.upstream.close.client_code == 1000  # the client's close, passed on
    assert any("proxy: connected to" in note for note in conn.notes)


def test_aiohttp_and_websocket_client_through_the_proxy(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    import asyncio

    ws_server.proxy_to(real_server().url)

    async def with_aiohttp() -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(ws_server.url, timeout=aiohttp.ClientWSTimeout(ws_close=2)) as ws,
        ):
            await ws.send_str("from aiohttp")
            message = await ws.receive(timeout=5)
            return str(message.data)

    assert asyncio.run(with_aiohttp()) == "echo: from aiohttp"
    client = websocket.create_connection(ws_server.url, timeout=5)
    try:
        client.send("from websocket-client")
        assert client.recv() == "echo: from websocket-client"
    finally:
        client.close()
    assert ws_server.wait_for_connection(1).received_texts == ["from websocket-client"]


def test_subprotocol_path_and_credentials_are_passed_on(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    upstream = real_server(subprotocols=("v2.feed",))
    ws_server.proxy_to(upstream.url + "/api", headers={"X-Proxy-Test": "1"})
    with _connect(
        ws_server.url + "/stream?x=1",
        subprotocols=["v1.feed", "v2.feed"],
        additional_headers={"Authorization": "Bearer abc", "X-Not-Forwarded": "no"},
    ) as ws:
        assert ws.subprotocol == "v2.feed"
    request = upstream.requests[0]
    assert request.path == "/api/stream?x=1"
    assert request.headers["Authorization"] == "Bearer abc"
    assert request.headers["X-Proxy-Test"] == "1"
    assert "X-Not-Forwarded" not in request.headers
    assert request.headers["Sec-WebSocket-Protocol"] == "v1.feed, v2.feed"
    assert ws_server.wait_for_connection().subprotocol == "v2.feed"


def test_an_upstream_refusal_is_relayed(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    ws_server.proxy_to(real_server(refuse=(403, "no entry")).url)
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        _connect(ws_server.url)
    assert info.value.response.status_code == 403
    assert info.value.response.body == b"no entry"
    conn = ws_server.wait_for_connection()
    assert any("refused" in note and "403" in note for note in conn.notes)


def test_an_unreachable_upstream_is_a_502_naming_the_cause(ws_server: MockServer) -> None:
    with socket.socket() as placeholder:  # a port nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    ws_server.proxy_to(f"ws://127.0.0.1:{port}/x")
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        _connect(ws_server.url)
    assert info.value.response.status_code == 502
    body = info.value.response.body.decode()
    assert f"127.0.0.1:{port}" in body
    assert "refused" in body
    assert any("answered 502" in note for note in ws_server.wait_for_connection().notes)


def test_a_bad_url_is_a_config_error(ws_server: MockServer) -> None:
    with pytest.raises(ConfigError, match="ws:// or wss://"):
        ws_server.proxy_to("http://example.com")


@pytest.mark.parametrize("fault", [Fault.drop(), Fault.reset()], ids=lambda f: f.id)
def test_a_fault_after_the_nth_upstream_message(
    ws_server: MockServer, real_server: RealServerFactory, fault: Fault
) -> None:
    def ticker(ws: ServerConnection) -> None:
        for n in range(5):
            ws.send(json.dumps({"tick": n}))
        ws.recv()  # until the proxy goes away

    ws_server.proxy_to(real_server(ticker).url).after_upstream(2, fault)
    got = []
    with _connect(ws_server.url) as ws:
        try:
            while True:
                got.append(json.loads(ws.recv(timeout=5)))
        except websockets.exceptions.ConnectionClosedError:
            pass  # what a dropped or reset connection gives
    assert got == [{"tick": 0}, {"tick": 1}]
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.close is not None
    assert conn.close.tcp_end == ("rst" if fault.kind == "reset" else "fin")
    assert any(f"after upstream message #2: {fault.describe()}" in n for n in conn.notes)
    assert conn.upstream is not None
    assert conn.upstream.close is not None  # the proxy closed the upstream leg too


def test_a_message_injected_after_an_upstream_message(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    ws_server.proxy_to(real_server().url).after_upstream(1, send_text("injected"))
    with _connect(ws_server.url) as ws:
        ws.send("a")
        assert ws.recv(timeout=5) == "echo: a"
        assert ws.recv(timeout=5) == "injected"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.upstream is not None
    assert [m.value for m in conn.upstream.sent] == ["echo: a"]  # the upstream never sent it


def test_a_delay_holds_each_message_going_one_way(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    ws_server.proxy_to(real_server().url).delay(0.2, direction="to_client")
    with _connect(ws_server.url) as ws:
        ws.send("a")
        assert ws.recv(timeout=5) == "echo: a"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.upstream is not None
    # From the records: the client's copy left at least 0.2 s after the upstream's arrived.
    assert conn.sent[0].time - conn.upstream.sent[0].time >= 0.2
    # The other direction was not held: the upstream got "a" before its echo was relayed.
    assert conn.upstream.received[0].time < conn.sent[0].time


def test_throttle_paces_by_size(ws_server: MockServer, real_server: RealServerFactory) -> None:
    ws_server.proxy_to(real_server().url).throttle(1000, direction="to_upstream")
    with _connect(ws_server.url) as ws:
        ws.send("x" * 300)  # 0.3 s at 1000 bytes a second
        assert ws.recv(timeout=5) == "echo: " + "x" * 300
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.upstream is not None
    assert conn.upstream.received[0].time - conn.received[0].time >= 0.3


def test_rules_answer_instead_of_relaying_both_ways(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    def feed(ws: ServerConnection) -> None:
        for message in ws:
            ws.send(json.dumps({"type": "price", "for": json.loads(message)["id"], "value": 7}))

    proxy = ws_server.proxy_to(real_server(feed).url)
    # A client message the server answers itself: not relayed upstream.
    ws_server.on(expect_json({"type": "ping"}), send_json({"type": "pong"}))
    # An upstream message replaced on its way to the client.
    proxy.on_upstream(
        expect_json({"for": 2}, subset=True),
        lambda m: send_json({**json.loads(m.text), "value": 0}),
    )
    with _connect(ws_server.url) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
        ws.send(json.dumps({"id": 1}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "price", "for": 1, "value": 7}
        ws.send(json.dumps({"id": 2}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "price", "for": 2, "value": 0}
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.upstream is not None
    assert [json.loads(t) for t in conn.upstream.received_texts] == [{"id": 1}, {"id": 2}]
    assert any("upstream rule #0" in note for note in conn.notes)


def test_rewrite_changes_messages_going_one_way(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    proxy = ws_server.proxy_to(real_server().url)
    proxy.rewrite(lambda m: m.upper() if isinstance(m, str) else m, direction="to_upstream")
    proxy.rewrite(lambda m: None if m == "echo: DROP" else m)
    with _connect(ws_server.url) as ws:
        ws.send("drop")
        ws.send("keep")
        assert ws.recv(timeout=5) == "echo: KEEP"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert any("a rewrite dropped a message going to_client" in n for n in conn.notes)


def test_the_upstreams_close_reaches_the_client(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    def bye(ws: ServerConnection) -> None:
        ws.recv()
        ws.close(4002, "maintenance")

    ws_server.proxy_to(real_server(bye).url)
    with _connect(ws_server.url) as ws:
        ws.send("hi")
        with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4002, "maintenance")
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.close is not None
    assert (conn.close.server_code, conn.close.server_reason) == (4002, "maintenance")


def test_a_tls_upstream_with_its_own_ca(
    wss_server: MockServer, real_server: RealServerFactory
) -> None:
    upstream = real_server(tls=True)
    wss_server.proxy_to(upstream.url, ssl=upstream.client_ssl)
    with _connect(wss_server.url, ssl=wss_server.client_ssl_context()) as ws:
        ws.send("secure")
        assert ws.recv(timeout=5) == "echo: secure"


def test_an_untrusted_tls_upstream_is_a_502(
    ws_server: MockServer, real_server: RealServerFactory
) -> None:
    ws_server.proxy_to(real_server(tls=True).url)  # the system's CAs do not know trustme's
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        _connect(ws_server.url)
    assert info.value.response.status_code == 502
    assert b"TLS" in info.value.response.body or b"certificate" in info.value.response.body
