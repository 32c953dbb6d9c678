"""The client private key is written readable by its owner only."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from pytest_wsmock import ServerFactory, TlsMaterial

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask of 0, so the file mode shows what the code asked for, not what umask removed."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
def test_the_client_key_is_created_0600(tmp_path: Path) -> None:
    """client_cert_files() creates the private key with mode 0600, even with umask 0."""
    material = TlsMaterial(trustme.CA(), tmp_path)
    cert_path, key_path = material.client_cert_files()
    assert _mode(key_path) == 0o600
    assert b"PRIVATE KEY" in key_path.read_bytes()
    # The certificate chain is public: it keeps the usual mode.
    assert b"CERTIFICATE" in cert_path.read_bytes()


def test_a_second_call_returns_the_same_files(tmp_path: Path) -> None:
    """The files are written once and reused."""
    material = TlsMaterial(trustme.CA(), tmp_path)
    first = material.client_cert_files()
    key = first[1].read_bytes()
    assert material.client_cert_files() == first
    assert first[1].read_bytes() == key
    assert _mode(first[1]) == 0o600


def test_the_fixture_server_key_is_private(ws_server_factory: ServerFactory) -> None:
    """The wss server's client_cert_files() key is 0600 as well."""
    server = ws_server_factory(tls=True, client_cert=True)
    _, key_path = server.client_cert_files()
    assert _mode(key_path) == 0o600
