"""The examples suite's kit: the feed service's side of feed.v1 as pytest-wsmock steps and
values, and the client under test built for fast tests.

Tests build the server's behaviour from these, so each test reads as the conversation it
checks: ``ws_server.script(SUBSCRIBE, send_json(event(1)), expect_json(ack(1)), END)``.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

from feedclient import Backoff, Event, FeedClient

from pytest_wsmock import close, expect_json

TOKEN = "t0ken"
TOPICS = ["prices"]

#: The client's first message on every connection.
SUBSCRIBE = expect_json({"type": "subscribe", "topics": TOPICS})
#: The server ends the feed: the client stops without reconnecting.
END = close(1000, "end of feed")
#: The server asks the client to reconnect now.
DISCONNECT = {"type": "disconnect", "reason": "server restart"}


def event(n: int, topic: str = "prices") -> dict[str, Any]:
    """Event envelope number ``n``, with id ``"e<n>"``."""
    return {"type": "event", "id": f"e{n}", "topic": topic, "data": {"price": 100 + n}}


def ack(n: int) -> dict[str, Any]:
    """The client's ack of event ``n``."""
    return {"type": "ack", "id": f"e{n}"}


def ping(n: int) -> dict[str, Any]:
    """The server's application-level keep-alive number ``n``."""
    return {"type": "ping", "id": n}


def pong(n: int) -> dict[str, Any]:
    """The client's answer to ``ping(n)``."""
    return {"type": "pong", "id": n}


#: Every wait of the tests and of the client is bounded by this.
TIMEOUT = 5.0
#: Retries after 0.01, 0.02, 0.04, ... s, without jitter, so tests are fast and exact.
FAST_BACKOFF = Backoff(initial=0.01, factor=2.0, maximum=0.1, jitter=False)


def feed_client(url: str, *, topics: list[str] = TOPICS, **options: Any) -> FeedClient:
    """The client under test, pointed at the mock server, with short timeouts."""
    options = {"backoff": FAST_BACKOFF, "timeout": TIMEOUT, "idle_timeout": TIMEOUT, **options}
    return FeedClient(url, TOKEN, topics, **options)


async def take(client: FeedClient, count: int | None = None) -> list[Event]:
    """The client's events: the first ``count`` (then the app stops reading and the client
    closes), or, with no count, every event until the server ends the feed."""
    events: list[Event] = []
    async with aclosing(client.events()) as feed:
        while count is None or len(events) < count:
            try:
                events.append(await asyncio.wait_for(anext(feed), TIMEOUT))
            except StopAsyncIteration:
                break
    return events
