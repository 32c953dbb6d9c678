"""The seven Python clients through every catalogue of the conformance kit, checked against
the project's pins (conformance.json), from which the docs tables are made
(``python -m tests.clients.render``).

The cases a timeout decides (a client waiting out its 2 s open or close timeout, or the kit's
bound on a client that hangs) are marked ``slow`` and run in the slow group
(``python -m pytest -m slow``), and so are wsproto's frame violations (a second each): about
75 s of the matrix's 120 s on one core. The rest runs in the default run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from pytest_wsmock import FRAME_VIOLATIONS
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

PINS = "conformance.json"

#: The catalogues' names in the case ids, in the order of ``ALL``.
NAMES = (
    "handshake-failure",
    "handshake-rejection",
    "frame-violation",
    "transport-fault",
    "tls-fault",
)

#: Cases a timeout decides for every client.
SLOW = frozenset({"handshake-failure/never-respond", "transport-fault/close-frame-only"})
#: trio-websocket reports a FIN, RST or TLS failure during the handshake only when its
#: connect_timeout expires.
TRIO_SLOW = SLOW | {
    "handshake-failure/close-before-request",
    "handshake-failure/close-after-request",
    "handshake-failure/reset-after-request",
    "handshake-failure/truncated",
    *(f"tls-fault/{fault}" for fault in ALL[4]),
}


#: wsproto (the adapter over a raw socket) answers a frame violation with its close frame and
#: waits for the server to end TCP, which the server does a second after the violation: each
#: of these cases takes that second.
WSPROTO_SLOW = SLOW | {f"frame-violation/{entry.id}" for entry in FRAME_VIOLATIONS}


def _entries(slow: frozenset[str], want_slow: bool) -> list[Any]:
    chosen = []
    for name, catalogue in zip(NAMES, ALL, strict=True):
        for entry in catalogue:
            case_id = f"{name}/{getattr(entry, 'id', entry)}"  # a TlsFault is its own id
            if (case_id in slow) is want_slow:
                chosen.append(entry)
    return chosen


def _tests(client: Any, slow: frozenset[str] = SLOW) -> Sequence[Callable[..., None]]:
    """The client's fast tests, and its slow ones (marked ``slow``)."""
    fast = conformance_tests(client, pins=PINS, catalogues=_entries(slow, False))
    slow_tests = conformance_tests(client, pins=PINS, catalogues=_entries(slow, True))
    return fast, pytest.mark.slow(slow_tests)


test_websockets_asyncio, test_websockets_asyncio_slow = _tests(WebsocketsAsyncio())
test_websockets_sync, test_websockets_sync_slow = _tests(WebsocketsSync())
test_aiohttp, test_aiohttp_slow = _tests(Aiohttp())
test_websocket_client, test_websocket_client_slow = _tests(WebsocketClient())
test_wsproto, test_wsproto_slow = _tests(Wsproto(), WSPROTO_SLOW)
test_httpx_ws, test_httpx_ws_slow = _tests(HttpxWs())
test_trio_websocket, test_trio_websocket_slow = _tests(TrioWebsocket(), TRIO_SLOW)
