"""Where the client connects: it asks the service's HTTP API for a WebSocket URL first."""

from __future__ import annotations

import pytest
from feedclient import FeedRejected
from feedkit import END, SUBSCRIBE, TOKEN, ack, event, feed_client, take

from pytest_wsmock import Handshake, MockServer, expect_json, send_json

pytestmark = [pytest.mark.asyncio, pytest.mark.wsmock(subprotocols=["feed.v1"])]

#: The feed's conversation on its own path.
ONE_EVENT = [SUBSCRIBE, send_json(event(1)), expect_json(ack(1)), END]


async def test_asks_the_api_for_its_url_then_connects_there(ws_server: MockServer) -> None:
    """``GET /connect`` (with the token) gives the URL; the WebSocket goes to that path."""
    ws_server.http("/api/connect", json={"url": ws_server.url_for("/feed?ticket=abc")})
    ws_server.route("/feed", script=ONE_EVENT)
    client = feed_client(ws_server.url_for("/api", scheme="http"))

    assert [e.id for e in await take(client)] == ["e1"]
    (call,) = ws_server.http_requests
    assert (call.method, call.path, call.status) == ("GET", "/api/connect", 200)
    assert call.headers.get("Authorization") == f"Bearer {TOKEN}"
    conn = await ws_server.connection()
    assert conn.route == "/feed"
    assert conn.request is not None
    assert conn.request.query_params == {"ticket": ["abc"]}


async def test_asks_for_a_new_url_before_every_retry(ws_server: MockServer) -> None:
    """A URL is good for one connection: after a 503 the client calls the API again."""
    ws_server.http("/api/connect", json={"url": ws_server.url_for("/feed")})
    ws_server.route(
        "/feed", handshake=[Handshake.unavailable(), Handshake.accept()], script=ONE_EVENT
    )
    client = feed_client(ws_server.url_for("/api", scheme="http"))

    assert [e.id for e in await take(client)] == ["e1"]
    assert [call.path for call in ws_server.http_requests] == ["/api/connect", "/api/connect"]
    assert [conn.response.status for conn in ws_server.connections if conn.response] == [503, 101]


async def test_a_refused_token_stops_the_client_before_any_websocket(
    ws_server: MockServer,
) -> None:
    """401 from the API is final: no retry, and no WebSocket connection is tried."""
    ws_server.http("/api/connect", status=401, json={"error": "invalid token"})
    client = feed_client(ws_server.url_for("/api", scheme="http"))

    with pytest.raises(FeedRejected, match="the /connect call was rejected with HTTP 401"):
        await take(client)
    assert [call.status for call in ws_server.http_requests] == [401]
    assert ws_server.connections == []


@pytest.mark.wsmock(strict_routes=True)
async def test_stops_when_its_websocket_url_is_not_found(ws_server: MockServer) -> None:
    """A 404 for the URL the API gave is final (strict routes: a path no route serves
    gets 404)."""
    ws_server.http("/api/connect", json={"url": ws_server.url_for("/old-feed")})
    ws_server.route("/feed", script=ONE_EVENT)
    client = feed_client(ws_server.url_for("/api", scheme="http"))

    with pytest.raises(FeedRejected) as caught:
        await take(client)
    assert caught.value.status == 404
    conn = await ws_server.connection()
    assert conn.route is None


async def test_uses_https_and_wss_with_the_same_ca(wss_server: MockServer) -> None:
    """On a TLS server the API is https:// and the feed wss://, both trusted by one context."""
    wss_server.http("/api/connect", json={"url": wss_server.url_for("/feed")})
    wss_server.route("/feed", script=ONE_EVENT)
    api = wss_server.url_for("/api", scheme="https")
    assert api.startswith("https://")
    client = feed_client(api, ssl_context=wss_server.client_ssl_context())

    assert [e.id for e in await take(client)] == ["e1"]
    assert wss_server.http_requests[0].status == 200
