"""Every real client against every ``TRANSPORT_FAULTS`` entry, over real sockets.

Each case scripts one fault on a ``ws_server`` (see cases.py), lets one client meet it, and
checks both sides: the client reacted as ``expected.py`` pins (so a client upgrade that changes
its behaviour is noticed), the messages it had to receive arrived intact, and the record says
where the fault fired and what the client did next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_wsmock import TRANSPORT_FAULTS, Direction, Fault, Frame, MockServer, Opcode

from .cases import AFTER, ENDING, GREETING, LONG, WRITE_SHAPING, plan_for, run_case
from .clients import CLIENTS, CLOSE_TIMEOUT
from .expected import EXPECTED
from .measure import describe, variants

UPDATE = (
    "update expected.py (python -m tests.faults.measure > tests/faults/expected.py) and "
    "regenerate the docs table (python -m tests.faults.render)"
)


def _cases() -> Iterator[object]:
    for client in CLIENTS:
        for fault in TRANSPORT_FAULTS:
            yield pytest.param(client, fault, id=f"{client}-{fault.id}")


def _server_text_frames(server: MockServer) -> list[Frame]:
    conn = server.connections[0]
    return [f for f in conn.frames if f.direction is Direction.SERVER and f.opcode == Opcode.TEXT]


@pytest.mark.parametrize(("client", "fault"), list(_cases()))
def test_client_meets_fault(ws_server: MockServer, client: str, fault: Fault) -> None:
    """The client reacts to this fault as expected.py pins it, and the record agrees."""
    reaction, result, conn = run_case(ws_server, client, fault)
    pinned = EXPECTED[client][fault.id]
    assert reaction in variants(pinned), (
        f"client {client} now does {reaction} on fault {fault.id} (was: {describe(pinned)}): "
        f"{UPDATE}"
    )
    # Every message the client had to receive arrived, intact.
    assert result.received == plan_for(fault).expect
    # The record says where the fault fired...
    fired = [note for note in conn.notes if note.startswith(f"fault {fault.id} fired at +")]
    assert len(fired) == 1, conn.notes
    assert fault.description in fired[0]
    info = conn.close
    assert info is not None
    # ...and what the client did next, whatever the client.
    if fault.kind in ("drop", "reset", "half-close", "close-then-drop"):
        # The server ended TCP first; no client answers a close frame it never saw in time.
        assert info.tcp_closed_by is Direction.SERVER, str(info)
        assert info.tcp_end == ("rst" if fault.kind == "reset" else "fin"), str(info)
        if reaction.code is not None:
            assert reaction.code == (1000 if fault.kind == "close-then-drop" else 1006)
    elif fault.kind in ("close-frame-only", "no-close-reply"):
        # The server never closes TCP here: the client must, after answering or sending close.
        assert info.client_code == 1000, str(info)
        assert info.tcp_closed_by is Direction.CLIENT, str(info)
        assert info.tcp_end == "fin", str(info)
    else:
        # Timing faults: a normal closing handshake followed.
        assert info.clean, str(info)
        assert info.initiator is Direction.CLIENT
        assert reaction.error is None
        assert [m.text for m in conn.sent] == [GREETING, LONG, AFTER]
    if fault.kind == "no-close-reply":
        # The client gave up after its close timeout, not at once and not much later.
        assert CLOSE_TIMEOUT * 0.8 <= result.seconds < CLOSE_TIMEOUT + 1.0, result.seconds
        assert not info.server_sent, str(info)
    if fault.kind in ENDING:
        assert not conn.received, conn.received


@pytest.mark.parametrize(
    "fault", [f for f in TRANSPORT_FAULTS if f.kind in WRITE_SHAPING or f.kind == "stall"]
)
def test_timing_faults_slow_the_writes_down(ws_server: MockServer, fault: Fault) -> None:
    """stall, delay-writes, throttle and split-frames really spread the server's writes out."""
    _, result, _ = run_case(ws_server, "websockets-sync", fault)
    assert result.received == (GREETING, LONG, AFTER)
    frames = _server_text_frames(ws_server)
    greeting, long, after = (frame.time for frame in frames)
    assert fault.seconds is not None
    if fault.kind == "stall":
        assert long - greeting >= fault.seconds * 0.9
    elif fault.kind == "delay-writes":
        assert long - greeting >= fault.seconds * 0.9
        assert after - long >= fault.seconds * 0.9
    elif fault.kind == "throttle":
        # One byte per write, a pause before each but the first (the message may have gone
        # out compressed: count the bytes that were on the wire). The long message's writes
        # lie between the greeting's and the last message's.
        assert after - greeting >= (len(frames[1].wire) - 1) * fault.seconds * 0.9
    else:  # split-frames: the payload goes out a pause after its header
        assert long - greeting >= fault.seconds * 0.9


def test_expected_covers_every_client_and_fault() -> None:
    """expected.py has one row per client and, in each, one reaction per catalogue entry."""
    assert list(EXPECTED) == list(CLIENTS)
    ids = [fault.id for fault in TRANSPORT_FAULTS]
    for client, row in EXPECTED.items():
        assert list(row) == ids, f"{client}: the row does not match the catalogue; {UPDATE}"


def test_catalogue_entries_have_unique_ids_and_descriptions() -> None:
    """Every TRANSPORT_FAULTS entry has a unique id and a description, and is a Fault."""
    ids = [fault.id for fault in TRANSPORT_FAULTS]
    assert len(set(ids)) == len(ids), ids
    for fault in TRANSPORT_FAULTS:
        assert isinstance(fault, Fault)
        assert fault.description
        assert fault.describe() == f"Fault.{fault.id}"
