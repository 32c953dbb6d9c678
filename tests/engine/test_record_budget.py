"""The per-connection record budget: a runaway client cannot take the test run's memory."""

from __future__ import annotations

import contextlib

import pytest
import websockets.sync.client

from pytest_wsmock import Direction, MockServer, Opcode, ServerOptions, silent

from ..compliance._raw import RawClient


@pytest.mark.wsmock(max_record_size=64 * 1024, strict=False)
def test_many_pings_hit_the_budget_and_close_with_1008(ws_server: MockServer) -> None:
    """A flood of pings stops at the budget: close 1008, a limit violation and a note."""
    ws_server.handler(silent)
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        with contextlib.suppress(OSError):  # the server may close while pings still go out
            for _ in range(1000):
                client.send_frame(Opcode.PING, b"p" * 8)
        assert client.read_close().close_code == 1008
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.record_size > 64 * 1024
    # The budget ended the connection long before the thousand pings were all recorded.
    pings = [f for f in conn.frames if f.direction is Direction.CLIENT]
    assert len(pings) < 1000
    kinds = [v for v in conn.violations if v.kind == "record-too-large"]
    assert len(kinds) == 1
    assert kinds[0].limit
    assert any(note.startswith("max_record_size:") for note in conn.notes)


def test_budget_is_an_option_with_a_finite_default() -> None:
    """The default budget is finite (256 MiB), None turns it off, nonsense is refused."""
    assert ServerOptions().max_record_size == 256 * 2**20
    assert ServerOptions(max_record_size=None).max_record_size is None
    with pytest.raises(ValueError, match="max_record_size"):
        ServerOptions(max_record_size=0)


@pytest.mark.wsmock(max_record_size=2 * 2**20, strict=False)
def test_compressed_messages_count_at_their_decompressed_size(ws_server: MockServer) -> None:
    """Messages that decompress a thousandfold are charged at their real size."""
    ws_server.handler(silent)
    with (
        websockets.sync.client.connect(ws_server.url, open_timeout=5) as ws,
        contextlib.suppress(websockets.ConnectionClosed),
    ):
        for _ in range(5):
            ws.send(b"\0" * 2**20)  # about 1 KiB on the wire each
        ws.recv(timeout=5)
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    assert conn.extensions is not None
    assert info.server_code == 1008
    assert len(conn.received) < 5
