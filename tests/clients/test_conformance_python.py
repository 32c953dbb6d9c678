"""The seven Python clients through every catalogue of the conformance kit, checked against
the project's pins (tests/clients/conformance.json), from which the docs tables are made."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest

from pytest_wsmock.conformance import ALL, conformance_tests

from ..adapters.python_clients import (
    Aiohttp,
    HttpxWs,
    TrioWebsocket,
    WebsocketClient,
    WebsocketsAsyncio,
    WebsocketsSync,
    Wsproto,
)
from ..adapters.trio_client import TRIO_WEBSOCKET_LEAK

PINS = "conformance.json"

test_websockets_asyncio = conformance_tests(WebsocketsAsyncio(), pins=PINS, catalogues=ALL)
test_websockets_sync = conformance_tests(WebsocketsSync(), pins=PINS, catalogues=ALL)
test_aiohttp = conformance_tests(Aiohttp(), pins=PINS, catalogues=ALL)
test_websocket_client = conformance_tests(WebsocketClient(), pins=PINS, catalogues=ALL)
test_wsproto = conformance_tests(Wsproto(), pins=PINS, catalogues=ALL)
test_httpx_ws = conformance_tests(HttpxWs(), pins=PINS, catalogues=ALL)
test_trio_websocket = pytest.mark.filterwarnings(TRIO_WEBSOCKET_LEAK)(
    conformance_tests(TrioWebsocket(), pins=PINS, catalogues=ALL)
)


@pytest.fixture(autouse=True, scope="module")
def _collect_trio_websocket_leaks() -> Iterator[None]:
    """Collect the sockets trio-websocket leaked (see tests/adapters/trio_client.py) before
    the module ends, rather than in some later test; their ResourceWarning is known."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
