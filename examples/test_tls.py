"""The feed client over wss://: it trusts the CA it is given, and only that."""

from __future__ import annotations

import pytest
from feedclient import FeedError
from feedkit import END, SUBSCRIBE, ack, event, feed_client, take

from pytest_wsmock import MockServer, ServerFactory, TlsFault, expect_json, send_json

pytestmark = [pytest.mark.asyncio, pytest.mark.wsmock(subprotocols=["feed.v1"])]


async def test_subscribes_over_wss_with_the_given_ca(wss_server: MockServer) -> None:
    """With an SSL context that trusts the server's CA, the feed works over TLS."""
    wss_server.script(SUBSCRIBE, send_json(event(1)), expect_json(ack(1)), END)
    client = feed_client(wss_server.url, ssl_context=wss_server.client_ssl_context())

    assert [e.id for e in await take(client)] == ["e1"]
    conn = await wss_server.connection()
    assert conn.tls_error is None
    assert conn.subprotocol == "feed.v1"


@pytest.mark.parametrize("fault", [TlsFault.UNTRUSTED, TlsFault.EXPIRED, TlsFault.WRONG_HOST])
async def test_refuses_a_bad_certificate_without_retrying(
    ws_server_factory: ServerFactory, fault: TlsFault
) -> None:
    """A certificate the client cannot verify is an error at once: no retry would fix it."""
    server = ws_server_factory(tls=True, tls_fault=fault)
    client = feed_client(server.url, ssl_context=server.client_ssl_context())

    with pytest.raises(FeedError, match="certificate was refused"):
        await take(client)
    assert client.retry_delays == []
    conn = await server.connection()
    assert conn.request is None  # TLS failed: no WebSocket request came
    assert len(server.connections) == 1
