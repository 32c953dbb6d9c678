"""The feed client's reconnect logic: disconnect requests, backoff, rejections, faults."""

from __future__ import annotations

import asyncio

import pytest
from feedclient import RETRYABLE_STATUSES, FeedRejected, FeedUnavailable
from feedkit import DISCONNECT, END, FAST_BACKOFF, SUBSCRIBE, ack, event, feed_client, take

from pytest_wsmock import (
    HANDSHAKE_REJECTIONS,
    TRANSPORT_FAULTS,
    Direction,
    Fault,
    Handshake,
    MockServer,
    expect_close,
    expect_json,
    send_json,
)

#: Every catalogued fault that ends the connection. Those that send a close frame send 1011
#: here: a close with 1000 would mean the service ended the feed, and the client would stop.
WITH_1011 = {
    "close-frame-only": Fault.close_frame_only(1011),
    "close-then-drop": Fault.close_then_drop(1011),
}
ENDING_FAULTS = [WITH_1011.get(f.id, f) for f in TRANSPORT_FAULTS if f.ends_connection]

pytestmark = [pytest.mark.asyncio, pytest.mark.wsmock(subprotocols=["feed.v1"])]


async def test_reconnects_at_once_when_the_server_asks(ws_server: MockServer) -> None:
    """A disconnect request closes with 1000 and reconnects without a backoff."""
    ws_server.script(
        SUBSCRIBE,
        send_json(event(1)),
        expect_json(ack(1)),
        send_json(DISCONNECT),
        expect_close(1000),
        connection=0,
    )
    ws_server.script(SUBSCRIBE, send_json(event(2)), expect_json(ack(2)), END, connection=1)
    client = feed_client(ws_server.url)

    assert [e.id for e in await take(client)] == ["e1", "e2"]
    assert client.retry_delays == []
    first, second = ws_server.connections
    await first.assert_closed_async(1000, "reconnecting", initiator=Direction.CLIENT)
    await second.assert_received_async({"type": "subscribe"}, ack(2), subset=True)


async def test_retries_a_503_with_exponential_backoff(ws_server: MockServer) -> None:
    """Two rejected handshakes are retried after 0.01 s, then 0.02 s."""
    ws_server.handshake(Handshake.unavailable(), Handshake.unavailable(), Handshake.accept())
    ws_server.script(SUBSCRIBE, send_json(event(1)), END, connection=2)  # the accepted one
    client = feed_client(ws_server.url)

    assert [e.id for e in await take(client)] == ["e1"]
    assert client.retry_delays == [0.01, 0.02]
    statuses = [conn.response.status for conn in ws_server.connections if conn.response]
    assert statuses == [503, 503, 101]


@pytest.mark.parametrize("rejection", HANDSHAKE_REJECTIONS)
async def test_retries_only_rejections_worth_retrying(
    ws_server: MockServer, rejection: Handshake
) -> None:
    """429 and 5xx are retried; 401, 403, 404 and 426 stop the client with FeedRejected."""
    ws_server.handshake(rejection, Handshake.accept())
    client = feed_client(ws_server.url)

    if rejection.status in RETRYABLE_STATUSES:
        ws_server.script(SUBSCRIBE, send_json(event(1)), END, connection=1)
        assert [e.id for e in await take(client)] == ["e1"]
        assert len(ws_server.connections) == 2
    else:
        with pytest.raises(FeedRejected) as caught:
            await take(client)
        assert caught.value.status == rejection.status
        assert len(ws_server.connections) == 1


@pytest.mark.parametrize("fault", ENDING_FAULTS, ids=lambda fault: fault.id)
async def test_reconnects_after_a_transport_fault(ws_server: MockServer, fault: Fault) -> None:
    """A connection that ends abnormally is reopened after one backoff, and the feed goes on."""
    ws_server.script(SUBSCRIBE, send_json(event(1)), expect_json(ack(1)), fault, connection=0)
    ws_server.script(SUBSCRIBE, send_json(event(2)), expect_json(ack(2)), END, connection=1)
    # After close-frame-only, websockets waits in recv() for TCP to end, which never comes: the
    # client's idle_timeout is what ends that connection.
    client = feed_client(ws_server.url, idle_timeout=0.3)

    assert [e.id for e in await take(client)] == ["e1", "e2"]
    assert client.retry_delays == [0.01]
    assert f"fault {fault.id} fired" in "\n".join(ws_server.connections[0].notes)


async def test_gives_up_after_max_attempts(ws_refused_url: str) -> None:
    """A port that refuses connections is tried max_attempts times, then FeedUnavailable."""
    client = feed_client(ws_refused_url, max_attempts=4)
    with pytest.raises(FeedUnavailable, match="gave up after 4 failed attempts") as caught:
        await take(client)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert client.retry_delays == [0.01, 0.02, 0.04]


async def test_reconnects_after_a_server_restart(ws_server: MockServer) -> None:
    """After a restart the client reconnects (backing off while the port refuses it, however
    many tries that takes) and subscribes again."""
    ws_server.script(SUBSCRIBE, send_json(event(1)), connection=0)
    ws_server.script(SUBSCRIBE, send_json(event(2)), END, connection=1)
    client = feed_client(ws_server.url, max_attempts=50)
    feed = asyncio.create_task(take(client))

    first = await ws_server.connection()
    await first.wait_for_messages_async(2)  # the subscribe and the ack of e1
    await ws_server.restart_async(down_for=0.1)

    assert [e.id for e in await feed] == ["e1", "e2"]
    assert client.connections == 2
    tries = len(client.retry_delays)  # 1 for the dropped connection, 1 for each refusal
    assert client.retry_delays == [FAST_BACKOFF.delay(n) for n in range(1, tries + 1)]
    assert ws_server.notes == ["restart: down for 0.1 s"]
