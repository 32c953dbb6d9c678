"""Mutual TLS (``client_cert=True``): clients with a certificate from the session CA get in, by
context or by file; clients without one are refused, and the server says why."""

from __future__ import annotations

import ssl

import pytest
import trustme

from pytest_wsmock import MockServer, ServerFactory, echo

from ._clients import CLIENTS, TIMEOUT

#: What each client raises when the server refuses it for having no certificate (measured:
#: under TLS 1.3 the client's handshake completes first, and the refusal arrives as the
#: connection closing while the client waits for the HTTP response; websockets' sync client
#: raises one or the other depending on timing, about one time in five the second).
#: Measured. Under TLS 1.3 the client finishes its side of the handshake and may have sent its
#: request before the server refuses the missing certificate; the server then closes with that
#: request unread, which the kernel turns into a reset: so some clients see either outcome.
NO_CERT_RAISES = {
    "websockets-sync": {"InvalidMessage", "ConnectionClosedError"},
    "websockets-asyncio": {"InvalidMessage"},
    "aiohttp": {"ServerDisconnectedError", "ClientOSError"},
    "websocket-client": {"WebSocketConnectionClosedException"},
}


@pytest.fixture
def mtls_server(ws_server_factory: ServerFactory) -> MockServer:
    """A wss:// echo server that requires a client certificate from the session CA."""
    server = ws_server_factory(tls=True, client_cert=True)
    server.handler(echo)
    return server


def _echoed(server: MockServer) -> None:
    conn = server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(TIMEOUT)
    assert conn.tls_error is None
    assert conn.received_texts == ["over tls"]


@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_ssl_context_carries_the_certificate(mtls_server: MockServer, client: str) -> None:
    """client_ssl_context() of a client_cert server trusts the CA and presents a certificate."""
    assert CLIENTS[client](mtls_server.url, mtls_server.client_ssl_context()) == "over tls"
    _echoed(mtls_server)


@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_configured_by_file(mtls_server: MockServer, client: str) -> None:
    """ca_path and client_cert_files() configure a client that takes file names."""
    cert, key = mtls_server.client_cert_files()
    assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" in key.read_bytes()
    context = ssl.create_default_context(cafile=str(mtls_server.ca_path))
    context.load_cert_chain(cert, key)
    assert CLIENTS[client](mtls_server.url, context) == "over tls"
    _echoed(mtls_server)


@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_without_certificate_is_refused(mtls_server: MockServer, client: str) -> None:
    """A client that trusts the CA but has no certificate is refused; tls_error says so."""
    context = ssl.create_default_context(cafile=str(mtls_server.ca_path))
    with pytest.raises(Exception) as caught:  # noqa: PT011 -- the type is checked per client
        CLIENTS[client](mtls_server.url, context)
    assert type(caught.value).__name__ in NO_CERT_RAISES[client], repr(caught.value)
    conn = mtls_server.wait_for_connection(timeout=TIMEOUT)
    assert conn.tls_error is not None
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in conn.tls_error
    assert conn.request is None


def test_certificate_from_another_ca_is_refused(mtls_server: MockServer) -> None:
    """A client certificate that the session CA did not issue is refused too."""
    context = ssl.create_default_context(cafile=str(mtls_server.ca_path))
    trustme.CA().issue_cert("stranger@example.invalid").configure_cert(context)
    with pytest.raises(Exception):  # noqa: PT011,B017 -- websockets' InvalidMessage, measured
        CLIENTS["websockets-sync"](mtls_server.url, context)
    conn = mtls_server.wait_for_connection(timeout=TIMEOUT)
    assert conn.tls_error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in conn.tls_error


def test_client_cert_files_need_a_tls_server(ws_server: MockServer) -> None:
    """client_cert_files(), client_ssl_context() and ca_path say so on a ws:// server."""
    for attempt in (ws_server.client_cert_files, ws_server.client_ssl_context):
        with pytest.raises(Exception, match="not a TLS server"):
            attempt()
