"""Node's ``ws``, Go's gorilla/websocket and headless Chromium through every catalogue of the
conformance kit, checked against the project's pins (conformance.json). Marked ``external``
(not in the default run: ``python -m pytest -m external``); each client's tests skip, naming
the install script, when its tools are missing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_wsmock.conformance import ALL, conformance_tests

from ..adapters.external import chromium, gorilla, node_ws

pytestmark = pytest.mark.external

PINS = "conformance.json"

NODE_WS, GORILLA, CHROMIUM = node_ws(), gorilla(), chromium()


def _tests(client: Any, name: str) -> Callable[..., None]:
    """The client's conformance tests, or one test that skips saying why it cannot run."""
    if isinstance(client, str):
        reason = client

        def test_skipped() -> None:
            pytest.skip(f"{name}: {reason}")

        return test_skipped
    return conformance_tests(client, pins=PINS, catalogues=ALL)


test_node_ws = _tests(NODE_WS, "node-ws")
test_gorilla = _tests(GORILLA, "gorilla")
test_chromium = _tests(CHROMIUM, "chromium")


@pytest.fixture(scope="module", autouse=True)
def _stop_clients() -> Iterator[None]:
    """Stop the drivers and the browser at the end of the module."""
    yield
    for driver in (NODE_WS, GORILLA):
        if not isinstance(driver, str):
            driver.stop()
    if not isinstance(CHROMIUM, str):
        CHROMIUM.close()
