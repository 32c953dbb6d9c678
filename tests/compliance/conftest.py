"""Fixtures of the compliance tests: a server whose strict-mode verdict the test checks itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_wsmock import MockServer, ServerFactory


@pytest.fixture
def server(ws_server_factory: ServerFactory) -> Iterator[MockServer]:
    """A strict mock server configured by the test's ``wsmock`` marker.

    Unlike ``ws_server``, it does not fail the test at teardown: each test stops it and checks
    ``server.check()`` itself, so that one test can assert on the record, on the wire *and*
    on the strict-mode verdict. (The teardown path itself is covered by ``test_strict_mode``.)
    """
    with MockServer(ws_server_factory.defaults.replace(strict=True)) as mock:
        yield mock
    assert mock.errors == []
