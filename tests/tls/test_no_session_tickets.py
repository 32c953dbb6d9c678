"""The TLS server sends no TLS 1.3 session tickets: websockets' sync client, whose reader thread
takes them in while its main thread writes the opening request, sometimes lost that request
(measured: 16 of 11,000 connections failed with tickets, 0 of 11,000 without)."""

from __future__ import annotations

import pytest
import websockets.sync.client

from pytest_wsmock import MockServer, echo


def test_the_server_context_sends_no_session_tickets(wss_server: MockServer) -> None:
    """The contexts the server uses, with and without a TLS fault, send no tickets."""
    assert wss_server.tls_server_context().num_tickets == 0


@pytest.mark.parametrize("count", [50, pytest.param(3000, marks=pytest.mark.slow, id="3000-slow")])
def test_the_sync_client_never_loses_its_request_over_tls(
    wss_server: MockServer, count: int
) -> None:
    """Many wss connections of websockets' sync client in a row: every one opens (with
    tickets, about 1 in 700 never sent its request on a loaded machine)."""
    wss_server.handler(echo)
    context = wss_server.client_ssl_context()
    for index in range(count):
        with websockets.sync.client.connect(wss_server.url, ssl=context, open_timeout=5) as ws:
            ws.send(str(index))
            assert ws.recv(timeout=5) == str(index)
    assert len(wss_server.connections) == count
