"""What the server writes and records for every ``FRAME_VIOLATIONS`` entry, whatever the
client.

Which client catches which violation is the conformance kit's table (tests/clients/); here a
raw client that answers nothing meets each entry, and the test checks the server's side: it
wrote ``"before"``, exactly the entry's frames, then ``"after"`` (nothing after a broken close
frame), and since nobody failed the connection, closed TCP itself after ``violation_grace``,
saying so in the record's notes.
"""

from __future__ import annotations

import contextlib

import pytest

from pytest_wsmock import (
    FRAME_VIOLATIONS,
    ConnectionClosed,
    Direction,
    FrameViolation,
    MockServer,
    Opcode,
    WebSocket,
)

from ..compliance._raw import RawClient

BEFORE, AFTER = "before", "after"


def _ends_with_close(entry: FrameViolation) -> bool:
    return entry.frames[-1].opcode == Opcode.CLOSE


@pytest.mark.wsmock(deflate=False, strict=False, violation_grace=0.3, close_timeout=1.0)
@pytest.mark.parametrize("entry", FRAME_VIOLATIONS, ids=lambda entry: entry.id)
def test_server_writes_the_entry_and_ends_it(ws_server: MockServer, entry: FrameViolation) -> None:
    async def violate(ws: WebSocket) -> None:
        await ws.send_text(BEFORE)
        await entry.run(ws)
        if not _ends_with_close(entry):
            with contextlib.suppress(ConnectionClosed):
                await ws.send_text(AFTER)
        async for _ in ws:
            pass

    ws_server.handler(violate)
    client = RawClient.connect(ws_server.host, ws_server.port)
    try:
        conn = ws_server.wait_for_connection(timeout=5)
        info = conn.wait_closed(timeout=5)
    finally:
        client.close_tcp()
    written = [f for f in conn.frames if f.direction is Direction.SERVER]
    assert written[0].payload == BEFORE.encode()
    violation = written[1 : 1 + len(entry.frames)]
    assert [
        (f.opcode, f.fin, f.rsv1, f.rsv2, f.rsv3, f.mask_key, f.payload) for f in violation
    ] == [(f.opcode, f.fin, f.rsv1, f.rsv2, f.rsv3, f.mask_key, f.payload) for f in entry.frames]
    after = [f.payload for f in written[1 + len(entry.frames) :]]
    assert after == ([] if _ends_with_close(entry) else [AFTER.encode()])
    # The client kept the connection open: the server closed TCP after violation_grace.
    assert any("violation_grace" in note for note in conn.notes), conn.notes
    assert info.tcp_closed_by is Direction.SERVER
    assert not info.client_sent
