"""A frame violation that needs deflate off runs against a client that offers deflate: the
server declines the offer for that connection instead of failing the step."""

from __future__ import annotations

import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosedError

from pytest_wsmock import FRAME_VIOLATIONS, Direction, MockServer

from ..scripts._support import TIMEOUT

RSV1 = next(v for v in FRAME_VIOLATIONS if v.id == "rsv1-without-extension")


def test_rsv1_violation_declines_deflate_offered_by_websockets(ws_server: MockServer) -> None:
    """rsv1-without-extension runs with default options; the websockets client fails it, 1002."""
    ws_server.script(RSV1)
    # websockets offers permessage-deflate by default (no compression=None here).
    with (
        websockets.sync.client.connect(
            ws_server.url,
            open_timeout=TIMEOUT,
            close_timeout=TIMEOUT,
            ping_interval=None,
            proxy=None,
        ) as ws,
        pytest.raises(ConnectionClosedError) as caught,
    ):
        ws.recv(timeout=TIMEOUT)
    assert caught.value.sent is not None
    assert caught.value.sent.code == 1002
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    request = conn.request
    assert request is not None
    assert "permessage-deflate" in (request.headers.get("Sec-WebSocket-Extensions") or "")
    assert conn.extensions is None
    assert any("declined" in note and "permessage-deflate" in note for note in conn.notes), (
        conn.notes
    )
    assert conn.script is not None
    assert conn.script.failure is None
    assert info.client_code == 1002
    server_frames = [f for f in conn.frames if f.direction is Direction.SERVER]
    assert server_frames[0].rsv1
