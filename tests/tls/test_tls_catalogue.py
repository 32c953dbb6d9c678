"""TLS_FAULTS: the tls_fault values, ready for parametrize, each refused by a client."""

from __future__ import annotations

import ssl

import pytest
import websockets.sync.client

from pytest_wsmock import TLS_FAULTS, ServerFactory


def test_the_catalogue_lists_every_tls_fault() -> None:
    """TLS_FAULTS holds each value the tls_fault option accepts."""
    assert TLS_FAULTS == (
        "untrusted",
        "wrong-host",
        "expired",
        "not-yet-valid",
        "close-during-handshake",
    )


@pytest.mark.parametrize("tls_fault", TLS_FAULTS)
def test_every_tls_fault_is_refused(ws_server_factory: ServerFactory, tls_fault: str) -> None:
    """A client with the session CA's context refuses every TLS fault; the server says why."""
    server = ws_server_factory(tls=True, tls_fault=tls_fault)
    with (
        pytest.raises((ssl.SSLError, OSError, websockets.InvalidMessage)),
        websockets.sync.client.connect(server.url, ssl=server.client_ssl_context(), open_timeout=2),
    ):
        pass
    conn = server.wait_for_connection(timeout=2)
    assert conn.tls_error
    assert conn.request is None
