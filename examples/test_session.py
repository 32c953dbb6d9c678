"""One connection of the feed client: subprotocol, token, subscribe, events, acks, keep-alives."""

from __future__ import annotations

import pytest
from feedclient import Event
from feedkit import END, SUBSCRIBE, TOKEN, ack, event, feed_client, ping, pong, take

from pytest_wsmock import Direction, MockServer, expect_json, send_json, send_text

pytestmark = [pytest.mark.asyncio, pytest.mark.wsmock(subprotocols=["feed.v1"])]


async def test_connects_with_feed_v1_and_its_token(ws_server: MockServer) -> None:
    """The client offers the feed.v1 subprotocol and authenticates with a bearer token."""
    ws_server.script(SUBSCRIBE, END)
    assert await take(feed_client(ws_server.url)) == []

    conn = await ws_server.connection()
    assert conn.request is not None
    assert conn.request.subprotocols == ("feed.v1",)
    assert conn.subprotocol == "feed.v1"
    assert conn.request.headers.get("Authorization") == f"Bearer {TOKEN}"


async def test_subscribes_then_yields_and_acks_each_event(ws_server: MockServer) -> None:
    """Events come out in order, and each is acked once the app has handled it."""
    ws_server.script(
        SUBSCRIBE,
        send_json(event(1)),
        send_json(event(2)),
        expect_json(ack(1)),
        expect_json(ack(2)),
        END,
    )
    events = await take(feed_client(ws_server.url))
    assert events == [
        Event("e1", "prices", {"price": 101}),
        Event("e2", "prices", {"price": 102}),
    ]


async def test_answers_keepalive_pings_with_their_id(ws_server: MockServer) -> None:
    """An application-level ping gets a pong carrying the same id."""
    ws_server.script(
        SUBSCRIBE,
        send_json(ping(7)),
        expect_json(pong(7)),
        send_json(ping(8)),
        expect_json(pong(8)),
        END,
    )
    assert await take(feed_client(ws_server.url)) == []


async def test_skips_messages_it_does_not_understand(ws_server: MockServer) -> None:
    """Text that is not a feed.v1 envelope, or an unknown type, does not break the feed."""
    ws_server.script(
        SUBSCRIBE,
        send_text("not json"),
        send_json({"type": "maintenance-window", "at": "02:00"}),
        send_json(event(1)),
        expect_json(ack(1)),
        END,
    )
    assert [e.id for e in await take(feed_client(ws_server.url))] == ["e1"]


async def test_stopping_early_closes_cleanly_and_leaves_the_last_event_unacked(
    ws_server: MockServer,
) -> None:
    """An app that stops reading closes with 1000; the event it stopped at is not acked, so
    the service sends it again next time (at-least-once delivery)."""
    ws_server.script(SUBSCRIBE, send_json(event(1)), expect_json(ack(1)), send_json(event(2)))
    assert [e.id for e in await take(feed_client(ws_server.url), count=2)] == ["e1", "e2"]

    conn = await ws_server.connection()
    await conn.assert_closed_async(1000, initiator=Direction.CLIENT, clean=True)
    await conn.assert_received_async({"type": "subscribe", "topics": ["prices"]}, ack(1))
