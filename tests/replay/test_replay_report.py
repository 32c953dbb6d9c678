"""How a replay that the client departs from fails the test, seen from pytest's side."""

from __future__ import annotations

import pytest

from ..plugin._support import write_ini

INNER = """
import websockets.sync.client

from pytest_wsmock._cassette import (
    Cassette, CassetteClose, CassetteConnection, CassetteMessage, CassetteRequest,
    CassetteResponse,
)

RECORDED = Cassette(
    (
        CassetteConnection(
            CassetteRequest("/orders"),
            CassetteResponse(101, "Switching Protocols"),
            (
                CassetteMessage("server", "text", "ready", 0.001),
                CassetteMessage("client", "text", '{"op": "buy", "qty": 1}', 0.010),
                CassetteMessage("server", "text", '{"filled": 1}', 0.020),
                CassetteClose("client", 1000, "", 0.030),
            ),
        ),
    )
)


def connect(url):
    return websockets.sync.client.connect(
        url, open_timeout=5, close_timeout=5, ping_interval=None, proxy=None, compression=None
    )


def test_order(ws_server):
    ws_server.replay(RECORDED)
    with connect(ws_server.url_for("/orders")) as ws:
        assert ws.recv(timeout=5) == "ready"
        ws.send('{"op": "buy", "qty": 2}')
"""


def test_changed_message_fails_with_diff_and_transcript(pytester: pytest.Pytester) -> None:
    """The test fails (call phase, no teardown error) with the recorded and the received
    message, the first JSON difference, and the transcript section of the connection."""
    write_ini(pytester)
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*_ test_order _*",
            "E*ScriptError: connection #0 (GET /orders): script step 2 of 4, replay client "
            'message #0 (text \'{"op": "buy", "qty": 1}\'): cassette connection #0, client '
            'message #0: expected text \'{"op": "buy", "qty": 1}\', received text '
            '\'{"op": "buy", "qty": 2}\'',
            "*JSON differs at $.qty: recorded 1, received 2",
            "*last frames: see the wsmock transcript below",
            "*- wsmock transcript -*",
            "*server -> client*TEXT*'ready'",
            '*client -> server*TEXT*(compacted) {"op":"buy","qty":2}',
        ]
    )
    # Nothing recorded after the departure was sent.
    assert "filled" not in result.stdout.str().partition("wsmock transcript")[2]
