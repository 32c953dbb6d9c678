"""A server that goes quiet is taken for dead: the client drops it and reconnects."""

from __future__ import annotations

import pytest
from feedkit import END, SUBSCRIBE, ack, event, feed_client, take

from pytest_wsmock import Direction, MockServer, expect_json, send_json

pytestmark = pytest.mark.asyncio


# Strict mode would fail this test: the client ends TCP without the closing handshake. It does
# so on purpose here, so the test allows that one kind (every other violation still fails).
@pytest.mark.wsmock(subprotocols=["feed.v1"], allow=["no-closing-handshake"])
async def test_drops_a_silent_connection_and_reconnects(ws_server: MockServer) -> None:
    """After idle_timeout without a message the client closes TCP at once (no closing
    handshake: a dead server would not answer it) and opens a new connection."""
    ws_server.script(SUBSCRIBE, send_json(event(1)), expect_json(ack(1)), connection=0)
    ws_server.script(SUBSCRIBE, send_json(event(2)), expect_json(ack(2)), END, connection=1)
    client = feed_client(ws_server.url, idle_timeout=0.2)

    assert [e.id for e in await take(client)] == ["e1", "e2"]
    silent = ws_server.connections[0]
    # No close frame from anyone (initiator None): the client just closed TCP.
    await silent.assert_closed_async(initiator=None, tcp_closed_by=Direction.CLIENT)
    assert [v.kind for v in silent.violations] == ["no-closing-handshake"]  # recorded, allowed
