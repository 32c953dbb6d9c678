"""Client helpers and record shortcuts shared by the script tests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from pytest_wsmock import Direction, Frame, MockServer, ScriptError

#: Seconds any client call or wait may take before the test fails instead of hanging.
TIMEOUT = 5.0


def sync_client(url: str, **kwargs: Any) -> ClientConnection:
    """A websockets sync client with bounded timeouts, no proxy, no keepalive pings and no
    compression unless asked (so frame sizes are what the script says). Use it in a ``with``
    block: websockets 17 warns otherwise."""
    options: dict[str, Any] = {
        "open_timeout": TIMEOUT,
        "close_timeout": TIMEOUT,
        "ping_interval": None,
        "proxy": None,
        "compression": None,
    }
    options.update(kwargs)
    client: ClientConnection = connect(url, **options)
    return client


def server_frames(frames: list[Frame]) -> list[tuple[str, bool, int]]:
    """The server's frames as ``(opcode name, fin, payload size)``, close frames left out."""
    return [
        (f.opcode_name, f.fin, len(f.payload))
        for f in frames
        if f.direction is Direction.SERVER and f.opcode_name != "CLOSE"
    ]


def script_failure(server: MockServer) -> str:
    """The text of the ScriptError that a wait raises at once when a script has failed (fail
    fast: teardown then does not raise it a second time).

    The wait used is one that cannot succeed (a connection that never comes), since a wait
    whose condition is already met returns normally.
    """
    conn = server.wait_for_connection(0, timeout=TIMEOUT)
    with pytest.raises(ScriptError) as caught:
        server.wait_for_connection(99, timeout=TIMEOUT)
    text = str(caught.value)
    assert text == conn.script_failure
    return text


def assert_frame_listed(text: str, arrow: str, opcode: str, shown: str) -> None:
    """A failure message lists, among its last frames, one with this direction, opcode and
    payload preview (e.g. ``"client -> server", "TEXT", "'hello'"``)."""
    assert "last frames seen:" in text, text
    listed = text.partition("last frames seen:")[2]
    pattern = rf"{re.escape(arrow)}\s+{opcode}\b.*{re.escape(shown)}"
    assert re.search(pattern, listed), text
