"""Fixtures shared by the real-client integration tests."""

from __future__ import annotations

import pytest

from pytest_wsmock import MockServer, echo


@pytest.fixture
def echo_server(ws_server: MockServer) -> MockServer:
    """The ``ws_server`` fixture with the ``echo`` handler installed."""
    ws_server.handler(echo)
    return ws_server


@pytest.fixture
def echo_wss_server(wss_server: MockServer) -> MockServer:
    """The ``wss_server`` fixture with the ``echo`` handler installed."""
    wss_server.handler(echo)
    return wss_server
