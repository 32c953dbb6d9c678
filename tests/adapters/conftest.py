"""Fixtures of the client adapters: one headless Chromium for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trustme

from .chromium import Chromium, missing


@pytest.fixture(scope="session")
def chromium(wsmock_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """The Chromium adapter, trusting the session CA; the browser starts on the first connect
    and quits at the session's end. Skips when chromium, chromedriver or certutil is missing."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    ca_path = tmp_path_factory.mktemp("chromium-ca") / "wsmock-ca.pem"
    wsmock_ca.cert_pem.write_to_path(str(ca_path))
    client = Chromium(ca_path=ca_path)
    yield client
    client.close()
