"""Every real client against every ``FRAME_VIOLATIONS`` entry, over real sockets.

Each case starts a ``ws_server`` whose handler sends ``"before"``, runs one entry, then tries
``"after"``; one client receives until the connection ends (every call with a 1.5 s timeout).
The case checks both sides: the server wrote exactly the entry's frames, and the client's
reaction (what it delivered, what it reported, how it closed, from the server's record) is
the one ``expected.py`` pins, so a client upgrade that changes its behaviour is noticed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_wsmock import FRAME_VIOLATIONS, Direction, FrameViolation, MockServer, Opcode

from .clients import CLIENTS
from .expected import EXPECTED
from .measure import OPTIONS, run
from .reactions import AFTER, BEFORE, KEPT_OPEN, describe, ends_with_close, reaction_of, variants

UPDATE = (
    "update expected.py (python -m tests.violations.measure > tests/violations/expected.py), "
    "review the diff, and regenerate the docs table (python -m tests.violations.render)"
)


def _cases() -> Iterator[object]:
    for client in CLIENTS:
        marks = [pytest.mark.wsmock(**OPTIONS)]
        for entry in FRAME_VIOLATIONS:
            yield pytest.param(client, entry, id=f"{client}-{entry.id}", marks=marks)


@pytest.mark.parametrize(("client", "entry"), list(_cases()))
def test_client_reaction(ws_server: MockServer, client: str, entry: FrameViolation) -> None:
    """The client delivers, reports and closes on this violation exactly as expected.py pins."""
    observed, conn = run(ws_server, client, entry)
    assert observed.delivered[:1] == (BEFORE,), (
        f"{client} did not deliver the legal message {BEFORE!r} sent before {entry.id}: {observed}"
    )

    # The server wrote "before", the entry's frames as they are, then nothing after a close
    # frame, else at most "after" and its answer to the client's close frame.
    written = [f for f in conn.frames if f.direction is Direction.SERVER]
    assert written[0].payload == BEFORE.encode()
    violation = written[1 : 1 + len(entry.frames)]
    assert [
        (f.opcode, f.fin, f.rsv1, f.rsv2, f.rsv3, f.mask_key, f.payload) for f in violation
    ] == [(f.opcode, f.fin, f.rsv1, f.rsv2, f.rsv3, f.mask_key, f.payload) for f in entry.frames]
    after = written[1 + len(entry.frames) :]
    if ends_with_close(entry):
        assert after == [], "the server sent something after its (broken) close frame"
    else:
        # "after", and the server's answer to a close frame from the client.
        assert all(f.payload == AFTER.encode() or f.opcode == Opcode.CLOSE for f in after), after

    assert conn.close is not None
    reaction = reaction_of(observed, conn.close)
    pinned = EXPECTED[client][entry.id]
    assert reaction in variants(pinned), (
        f"client {client} now does '{reaction}' on {entry.id} (was: '{describe(pinned)}'): {UPDATE}"
    )
    if reaction.ending == KEPT_OPEN:
        # Nobody closed within violation_grace: the server did, and says so.
        assert any("violation_grace" in note for note in conn.notes), conn.notes
        assert conn.close.tcp_closed_by is Direction.SERVER


def test_expected_covers_every_client_and_entry() -> None:
    """expected.py has one row per client and, in each, one reaction per catalogue entry."""
    assert list(EXPECTED) == list(CLIENTS)
    ids = [entry.id for entry in FRAME_VIOLATIONS]
    for client, row in EXPECTED.items():
        assert list(row) == ids, f"{client}: the row does not match the catalogue; {UPDATE}"
