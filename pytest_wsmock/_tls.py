"""Certificates for ``wss://`` servers: a trustme CA, the server's certificate, client contexts."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

#: The names the server certificate is valid for: the loopback names a client may dial.
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


class TlsMaterial:
    """A CA, a server certificate it issued, and the files and contexts made from them.

    The ``wss_server`` fixture builds one per test session from ``wsmock_ca``; build your own
    with ``TlsMaterial(trustme.CA(), directory)`` to use :class:`MockServer` outside pytest.

    Args:
        ca: the certificate authority that issues the server certificate.
        directory: where to write ``ca_path`` (an existing folder).
    """

    def __init__(self, ca: trustme.CA, directory: Path) -> None:
        self.ca = ca
        #: PEM file with the CA certificate.
        self.ca_path = Path(directory) / "wsmock-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        self.server_cert = ca.issue_cert(*SERVER_NAMES)
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(self.server_context)

    def client_context(self) -> ssl.SSLContext:
        """A new client ``ssl.SSLContext`` that trusts :attr:`ca` (and checks host names)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(context)
        return context
