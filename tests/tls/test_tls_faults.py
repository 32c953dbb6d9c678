"""Each ``tls_fault`` against four real clients: the client refuses with the right error, and
the server records why the TLS handshake failed in ``conn.tls_error``."""

from __future__ import annotations

import ssl

import pytest
import websockets.sync.client

from pytest_wsmock import MockServer, ServerFactory, echo
from tests.plugin._support import write_ini

from ._clients import ASYNCIO_CLIENTS, CLIENTS, TIMEOUT, chain

#: tls_fault -> what OpenSSL's verification says on the client side.
VERIFY_MESSAGES = {
    "untrusted": "unable to get local issuer certificate",
    "wrong-host": "IP address mismatch, certificate is not valid for '127.0.0.1'",
    "expired": "certificate has expired",
    "not-yet-valid": "certificate is not yet valid",
}

#: The exception each client raises, as measured: on a certificate it refuses, and when the
#: server closes TCP during the TLS handshake.
RAISES: dict[str, dict[str, str]] = {
    "websockets-sync": {"verify": "SSLCertVerificationError", "eof": "SSLEOFError"},
    "websockets-asyncio": {"verify": "SSLCertVerificationError", "eof": "ConnectionResetError"},
    "aiohttp": {"verify": "ClientConnectorCertificateError", "eof": "ClientConnectorError"},
    "websocket-client": {"verify": "SSLCertVerificationError", "eof": "SSLEOFError"},
}

#: tls_fault -> the TLS alert a client that sends one (the blocking ``ssl`` module clients)
#: leaves in the server's ``tls_error``.
ALERTS = {
    "untrusted": "TLSV1_ALERT_UNKNOWN_CA",
    "wrong-host": "SSLV3_ALERT_BAD_CERTIFICATE",
    "expired": "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "not-yet-valid": "SSLV3_ALERT_BAD_CERTIFICATE",
}


def _failed_tls(
    ws_server_factory: ServerFactory, client: str, fault: str
) -> tuple[BaseException, MockServer]:
    server = ws_server_factory(tls=True, tls_fault=fault)
    server.handler(echo)
    with pytest.raises(Exception) as caught:  # noqa: PT011 -- checked below, per client
        CLIENTS[client](server.url, server.client_ssl_context())
    return caught.value, server


@pytest.mark.parametrize("fault", list(VERIFY_MESSAGES))
@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_refuses_bad_certificate(
    ws_server_factory: ServerFactory, client: str, fault: str
) -> None:
    """The client refuses the certificate with the verification error of this fault."""
    error, server = _failed_tls(ws_server_factory, client, fault)
    assert type(error).__name__ == RAISES[client]["verify"], repr(error)
    # aiohttp's ClientConnectorCertificateError is one too, and wraps the ssl module's.
    verify = [
        e
        for e in chain(error)
        if isinstance(e, ssl.SSLCertVerificationError) and hasattr(e, "verify_message")
    ]
    assert verify, f"no SSLCertVerificationError behind {error!r}"
    assert VERIFY_MESSAGES[fault] in verify[0].verify_message
    conn = server.wait_for_connection(timeout=TIMEOUT)
    assert conn.tls_error is not None
    assert conn.request is None
    assert not conn.accepted
    if client not in ASYNCIO_CLIENTS:
        assert ALERTS[fault] in conn.tls_error


@pytest.mark.parametrize("client", list(CLIENTS))
def test_close_during_handshake(ws_server_factory: ServerFactory, client: str) -> None:
    """The server closes TCP after the ClientHello: the client reports an EOF or a reset."""
    error, server = _failed_tls(ws_server_factory, client, "close-during-handshake")
    assert type(error).__name__ == RAISES[client]["eof"], repr(error)
    assert any(isinstance(e, (ssl.SSLEOFError, ConnectionResetError)) for e in chain(error))
    conn = server.wait_for_connection(timeout=TIMEOUT)
    assert conn.tls_error == "tls_fault close-during-handshake: the server closed TCP"
    assert conn.notes == ["tls_fault close-during-handshake: read the ClientHello, closed TCP"]
    assert conn.request is None


@pytest.mark.parametrize("fault", list(VERIFY_MESSAGES))
@pytest.mark.parametrize("client", sorted(ASYNCIO_CLIENTS))
def test_tls_error_says_why_for_asyncio_clients(
    ws_server_factory: ServerFactory, client: str, fault: str
) -> None:
    """When an asyncio client drops the TLS handshake, tls_error still says what happened."""
    _, server = _failed_tls(ws_server_factory, client, fault)
    conn = server.wait_for_connection(timeout=TIMEOUT)
    assert conn.tls_error, repr(conn.tls_error)
    assert "during the TLS handshake" in conn.tls_error


def test_wrong_host_by_name(ws_server_factory: ServerFactory) -> None:
    """Dialled by host name, the wrong-host certificate fails with a host name mismatch."""
    server = ws_server_factory(tls=True, tls_fault="wrong-host")
    url = server.url.replace("127.0.0.1", "localhost")
    with (
        pytest.raises(ssl.SSLCertVerificationError) as caught,
        websockets.sync.client.connect(
            url, ssl=server.client_ssl_context(), open_timeout=TIMEOUT, proxy=None
        ),
    ):
        pass
    assert "Hostname mismatch, certificate is not valid for 'localhost'" in (
        caught.value.verify_message
    )
    assert server.wait_for_connection(timeout=TIMEOUT).tls_error is not None


@pytest.mark.parametrize("client", list(CLIENTS))
def test_good_certificate_is_accepted(wss_server: MockServer, client: str) -> None:
    """Without a tls_fault, client_ssl_context() gets every client in, and tls_error is None."""
    wss_server.handler(echo)
    assert CLIENTS[client](wss_server.url, wss_server.client_ssl_context()) == "over tls"
    conn = wss_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(TIMEOUT)
    assert conn.tls_error is None
    assert conn.received_texts == ["over tls"]


def test_marker_sets_tls_fault_for_wss_server(pytester: pytest.Pytester) -> None:
    """@pytest.mark.wsmock(tls_fault="expired") configures the wss_server fixture."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.wsmock(tls_fault="expired")
        def test_expired(wss_server):
            assert wss_server.options.tls_fault == "expired"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
