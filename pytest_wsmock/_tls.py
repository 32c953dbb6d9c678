"""Certificates for ``wss://`` servers: a trustme CA, server certificates good and bad, and
the client side's contexts and files."""

from __future__ import annotations

import datetime
import enum
import os
import ssl
import threading
from pathlib import Path

import trustme

#: The names the server certificate is valid for: the loopback names a client may dial.
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")

#: The name on the certificate of the ``wrong-host`` TLS fault.
WRONG_HOST = "wrong-host.invalid"


class TlsFault(str, enum.Enum):
    """The ways a ``wss://`` server can misbehave on purpose: the ``tls_fault`` option.

    A ``str`` enum, so each member equals its value: markers and ini files can keep writing
    ``tls_fault="expired"``, and :class:`ServerOptions` turns the string into the member.
    """

    #: present a certificate from another CA, which no client was told to trust
    UNTRUSTED = "untrusted"
    #: present a certificate for another host name (``wrong-host.invalid``)
    WRONG_HOST = "wrong-host"
    #: present a certificate that expired yesterday
    EXPIRED = "expired"
    #: present a certificate that is valid from tomorrow
    NOT_YET_VALID = "not-yet-valid"
    #: read the client's first TLS bytes (the ClientHello), then close TCP
    CLOSE_DURING_HANDSHAKE = "close-during-handshake"

    def __str__(self) -> str:
        # The value, not ``TlsFault.EXPIRED``: it is what users write and what messages show.
        return self.value


class TlsMaterial:
    """A CA, the server certificates it issued, and the files and contexts made from them.

    The ``wss_server`` fixture builds one per test session from ``wsmock_ca``; build your own
    with ``TlsMaterial(trustme.CA(), directory)`` to use :class:`MockServer` outside pytest.
    Certificates for the TLS faults are made the first time a test asks for them.

    Args:
        ca: the certificate authority that issues the server certificate.
        directory: where to write ``ca_path`` and the client certificate files (an existing
            folder).
    """

    def __init__(self, ca: trustme.CA, directory: Path) -> None:
        self.ca = ca
        self.directory = Path(directory)
        #: PEM file with the CA certificate.
        self.ca_path = self.directory / "wsmock-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        self.server_cert = ca.issue_cert(*SERVER_NAMES)
        self.server_context = self._context(self.server_cert, client_cert=False)
        self._lock = threading.Lock()
        self._contexts: dict[tuple[TlsFault | None, bool], ssl.SSLContext] = {
            (None, False): self.server_context
        }
        self._client_cert: trustme.LeafCert | None = None

    def _context(self, cert: trustme.LeafCert, *, client_cert: bool) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        # No TLS 1.3 session tickets: a client whose reader thread takes them in while its
        # main thread writes the request (websockets' sync client) sometimes lost the request
        # (16 of 11,000 connections, 0 of 11,000 without tickets); nor do tests resume sessions.
        context.num_tickets = 0
        if client_cert:
            # Mutual TLS: only clients with a certificate from our CA get in.
            context.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(context)
        return context

    def _leaf_for(self, fault: TlsFault | None) -> trustme.LeafCert:
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        if fault is TlsFault.UNTRUSTED:
            # Signed by a CA that no client was told to trust.
            return trustme.CA().issue_cert(*SERVER_NAMES)
        if fault is TlsFault.WRONG_HOST:
            return self.ca.issue_cert(WRONG_HOST)
        if fault is TlsFault.EXPIRED:
            return self.ca.issue_cert(*SERVER_NAMES, not_before=now - 2 * day, not_after=now - day)
        if fault is TlsFault.NOT_YET_VALID:
            return self.ca.issue_cert(*SERVER_NAMES, not_before=now + day, not_after=now + 2 * day)
        return self.server_cert

    def server_context_for(self, fault: TlsFault | str | None, client_cert: bool) -> ssl.SSLContext:
        """The server-side context for a TLS fault (or none) and a mutual-TLS setting."""
        # A plain string still works for callers that predate the enum; unknown ones raise.
        member = None if fault is None else TlsFault(fault)
        # Closing during the handshake happens before any certificate is shown: the good one.
        if member is TlsFault.CLOSE_DURING_HANDSHAKE:
            member = None
        key = (member, client_cert)
        with self._lock:
            if key not in self._contexts:
                self._contexts[key] = self._context(self._leaf_for(key[0]), client_cert=client_cert)
            return self._contexts[key]

    def client_context(self, *, with_cert: bool = False) -> ssl.SSLContext:
        """A new client ``ssl.SSLContext`` that trusts :attr:`ca` (and checks host names);
        ``with_cert`` adds the client certificate, for mutual TLS."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(context)
        if with_cert:
            self.client_cert().configure_cert(context)
        return context

    def client_cert(self) -> trustme.LeafCert:
        """The client certificate for mutual TLS (issued once, by :attr:`ca`)."""
        with self._lock:
            if self._client_cert is None:
                self._client_cert = self.ca.issue_cert("wsmock-client@example.invalid")
            return self._client_cert

    def client_cert_files(self) -> tuple[Path, Path]:
        """``(certificate chain PEM, private key PEM)`` files of :meth:`client_cert`, for
        clients configured by file (``ssl_context.load_cert_chain(cert, key)``)."""
        cert = self.client_cert()
        cert_path = self.directory / "wsmock-client-cert.pem"
        key_path = self.directory / "wsmock-client-key.pem"
        with self._lock:
            if not cert_path.exists():
                # The key first: the certificate file's existence says both are complete.
                _write_private(key_path, cert.private_key_pem.bytes())
                cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        return cert_path, key_path


def _write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only.

    The mode is given to ``os.open`` so the file is 0600 from its creation: writing it first
    and ``chmod``-ing it after would leave a moment in which other users of a shared machine
    (a CI runner, ``/tmp``) could open it. ``O_EXCL`` refuses a file or symlink planted at
    the path; ``O_NOFOLLOW`` where the platform has it.
    """
    # An earlier, interrupted call may have written the key but not the certificate: anew.
    path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
