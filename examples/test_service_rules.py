"""A fake feed service made of background rules: it answers whatever the client sends,
whenever it sends it, with no script to keep in step with the client."""

from __future__ import annotations

import asyncio
import json

import pytest
from feedkit import DISCONNECT, END, SUBSCRIBE, ack, event, feed_client, ping, pong, take

from pytest_wsmock import (
    Frame,
    Message,
    MockServer,
    Step,
    expect_json,
    rule,
    send_json,
    wait_for_release,
)

#: Any subscribe and any ack, whatever their topics and ids.
SUBSCRIBED = expect_json({"type": "subscribe"}, subset=True)
ACKED = expect_json({"type": "ack"}, subset=True)

pytestmark = [
    pytest.mark.asyncio,
    # Every connection of this module: the service eats the client's pongs (keep-alive answers
    # the tests here do not look at), so scripts need not expect them.
    pytest.mark.wsmock(
        subprotocols=["feed.v1"], rules=[rule(expect_json({"type": "pong"}, subset=True))]
    ),
]


def publish(message: Message | Frame) -> list[Step]:
    """The service's answer to a subscribe: one event per topic asked for, then the end."""
    assert isinstance(message, Message)  # (a Frame only for expect_ping/expect_pong triggers)
    topics = json.loads(message.text)["topics"]
    return [send_json(event(n, topic)) for n, topic in enumerate(topics, 1)] + [END]


def next_event(message: Message | Frame) -> Step:
    """Flow control: the ack of event n makes the service send event n + 1."""
    assert isinstance(message, Message)
    acked = int(json.loads(message.text)["id"].removeprefix("e"))
    return send_json(event(acked + 1))


async def test_gets_an_event_for_every_topic_it_subscribes_to(ws_server: MockServer) -> None:
    """A response function builds the answer from the subscribe the client sent."""
    ws_server.on(SUBSCRIBED, publish)
    client = feed_client(ws_server.url, topics=["prices", "trades"])

    events = await take(client)
    assert [(e.id, e.topic) for e in events] == [("e1", "prices"), ("e2", "trades")]
    conn = await ws_server.connection()
    notes = [note for note in conn.notes if note.startswith("rule #")]
    assert len(notes) == 1  # the record says which rule answered which message
    assert "answered message #0" in notes[0]


async def test_keeps_going_when_each_event_waits_for_the_previous_ack(
    ws_server: MockServer,
) -> None:
    """With one event in flight at a time, every event is acked before the next one comes."""
    ws_server.on(SUBSCRIBED, send_json(event(1)))
    ws_server.on(ACKED, next_event, times=3)

    events = await take(feed_client(ws_server.url), count=4)
    assert [e.id for e in events] == ["e1", "e2", "e3", "e4"]
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert conn.received_json[1:] == [ack(1), ack(2), ack(3)]  # e4 was not handled: no ack


async def test_reconnects_when_the_first_connection_asks(ws_server: MockServer) -> None:
    """Rules for one connection (``connection=0``) come first; the others serve the rest."""
    ws_server.on(SUBSCRIBED, send_json(DISCONNECT), connection=0)
    ws_server.on(SUBSCRIBED, send_json(event(1)), END)
    client = feed_client(ws_server.url)

    assert [e.id for e in await take(client)] == ["e1"]
    assert client.connections == 2
    assert client.retry_delays == []


async def test_acks_every_event_of_a_burst(ws_server: MockServer) -> None:
    """Three events at once end with the ack of the last; ``skip_unmatched=True`` lets the
    script wait for that one ack and skip (and note) the others."""
    ws_server.script(
        SUBSCRIBE,
        *(send_json(event(n)) for n in (1, 2, 3)),
        expect_json(ack(3), skip_unmatched=True),
        END,
    )
    assert [e.id for e in await take(feed_client(ws_server.url))] == ["e1", "e2", "e3"]
    conn = await ws_server.connection()
    assert len([note for note in conn.notes if "skipped message" in note]) == 2  # e1's, e2's


async def test_answers_keepalives_between_events(ws_server: MockServer) -> None:
    """Pings come between events; the module's rule takes the pongs out of the script's way."""
    ws_server.script(
        SUBSCRIBE,
        send_json(ping(1)),
        send_json(event(1)),
        send_json(ping(2)),
        send_json(event(2)),
        expect_json(ack(1)),
        expect_json(ack(2)),
        END,
    )
    assert [e.id for e in await take(feed_client(ws_server.url))] == ["e1", "e2"]
    conn = await ws_server.connection()
    # The script never saw the pongs; the record has every message, in order.
    await conn.assert_received_async(
        {"type": "subscribe"}, pong(1), ack(1), pong(2), ack(2), subset=True
    )


async def test_stops_when_the_service_ends_the_feed_after_an_ack(ws_server: MockServer) -> None:
    """A close 1000 ends the feed for good; ``conn.on(...)`` added that answer to the open
    connection while its script waited."""
    ws_server.script(SUBSCRIBE, wait_for_release("rule added"), send_json(event(1)))
    feed = asyncio.create_task(take(feed_client(ws_server.url)))

    conn = await ws_server.connection()
    conn.on(expect_json(ack(1)), END)  # the ack of e1 ends the feed
    ws_server.release("rule added")
    assert [e.id for e in await feed] == ["e1"]
    info = await conn.wait_closed_async()
    assert (info.server_code, info.server_reason) == (1000, "end of feed")
