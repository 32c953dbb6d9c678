"""Fixtures shared by the real-client integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_wsmock import MockServer, echo

from ._aclients import stop_portals


@pytest.fixture(scope="session", autouse=True)
def _async_client_loops() -> Iterator[None]:
    """The async clients' event loops run for the session; they stop at its end."""
    yield
    stop_portals()


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
