"""What the server does and records for every ``TRANSPORT_FAULTS`` entry, whatever the client.

How each client reacts is the conformance kit's table (tests/clients/); here one client
(websockets' sync client, through the project's adapter) meets each fault and the test checks
the server's side: where the fault fired (a note), who closed TCP and how (FIN or RST), the
close frames, and that the timing faults really spread the server's writes out.
"""

from __future__ import annotations

import contextlib

import pytest

from pytest_wsmock import (
    TRANSPORT_FAULTS,
    Connection,
    Direction,
    Fault,
    MockServer,
    Opcode,
    Step,
    send_text,
)

from ..adapters.python_clients import ClientFailure, WebsocketsSync

TIMEOUT = 2.0
GREETING = "hello"
LONG = "".join(chr(ord("a") + i % 26) for i in range(200))  # a 16-bit length header
AFTER = "after the fault"

#: Faults after which the server sends nothing more: the client reads once more.
ENDING = frozenset({"drop", "reset", "half-close", "close-then-drop", "close-frame-only"})
#: Faults that change how later writes go out: they come before the messages.
WRITE_SHAPING = frozenset({"delay-writes", "throttle", "split-frames"})


def steps_for(fault: Fault) -> tuple[Step, ...]:
    """The server script for ``fault``."""
    if fault.kind in WRITE_SHAPING:
        return (fault, send_text(GREETING), send_text(LONG), send_text(AFTER))
    if fault.kind == "no-close-reply":
        # The mode is set before the greeting, so the client's close cannot come first.
        return (fault, send_text(GREETING))
    if fault.kind in ENDING:
        return (send_text(GREETING), fault)
    return (send_text(GREETING), fault, send_text(LONG), send_text(AFTER))


def meet(server: MockServer, fault: Fault) -> tuple[list[str | bytes], Connection]:
    """Script ``fault``, let the client receive what comes (then read once more, or close),
    and return what it received and the finished record."""
    server.script(*steps_for(fault))
    received: list[str | bytes] = []
    session = WebsocketsSync().connect(
        server.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT
    )
    try:
        expected = 1 if fault.kind in ENDING or fault.kind == "no-close-reply" else 3
        for _ in range(expected):
            received.append(session.receive(TIMEOUT))
        if fault.kind in ENDING:
            with contextlib.suppress(ClientFailure, TimeoutError):
                received.append(session.receive(TIMEOUT))
    finally:
        with contextlib.suppress(ClientFailure):
            session.close()
    conn = server.wait_for_connection(timeout=5)
    conn.wait_closed(timeout=5)
    return received, conn


@pytest.mark.parametrize("fault", TRANSPORT_FAULTS, ids=lambda fault: fault.id)
def test_fault_fires_and_ends_as_recorded(ws_server: MockServer, fault: Fault) -> None:
    """The record says where the fault fired and how the connection ended."""
    received, conn = meet(ws_server, fault)
    fired = [note for note in conn.notes if note.startswith(f"fault {fault.id} fired at +")]
    assert len(fired) == 1, conn.notes
    assert fault.description in fired[0]
    info = conn.close
    assert info is not None
    if fault.kind in ("drop", "reset", "half-close", "close-then-drop"):
        # The server ended TCP first; the client saw no close frame in time to answer.
        assert received == [GREETING]
        assert info.tcp_closed_by is Direction.SERVER, str(info)
        assert info.tcp_end == ("rst" if fault.kind == "reset" else "fin"), str(info)
        assert info.server_sent is (fault.kind == "close-then-drop"), str(info)
    elif fault.kind in ("close-frame-only", "no-close-reply"):
        # The server never closes TCP here: the client must, after answering or sending close.
        assert info.client_code == 1000, str(info)
        assert info.tcp_closed_by is Direction.CLIENT, str(info)
        assert info.tcp_end == "fin", str(info)
        assert info.server_sent is (fault.kind == "close-frame-only"), str(info)
    else:
        # Timing faults: every message arrived intact and a normal closing handshake followed.
        assert received == [GREETING, LONG, AFTER]
        assert info.clean, str(info)
        assert info.initiator is Direction.CLIENT
        assert [m.text for m in conn.sent] == [GREETING, LONG, AFTER]
    if fault.kind in ENDING:
        assert not conn.received, conn.received


@pytest.mark.parametrize(
    "fault",
    [f for f in TRANSPORT_FAULTS if f.kind in WRITE_SHAPING or f.kind == "stall"],
    ids=lambda fault: fault.id,
)
def test_timing_faults_slow_the_writes_down(ws_server: MockServer, fault: Fault) -> None:
    """stall, delay-writes, throttle and split-frames really spread the server's writes out."""
    received, conn = meet(ws_server, fault)
    assert received == [GREETING, LONG, AFTER]
    frames = [f for f in conn.frames if f.direction is Direction.SERVER and f.opcode == Opcode.TEXT]
    greeting, long, after = (frame.time for frame in frames)
    assert fault.seconds is not None
    if fault.kind == "stall":
        assert long - greeting >= fault.seconds * 0.9
    elif fault.kind == "delay-writes":
        assert long - greeting >= fault.seconds * 0.9
        assert after - long >= fault.seconds * 0.9
    elif fault.kind == "throttle":
        # One byte per write, a pause before each but the first (count the bytes that were on
        # the wire: the message may have gone out compressed).
        assert after - greeting >= (len(frames[1].wire) - 1) * fault.seconds * 0.9
    else:  # split-frames: the payload goes out a pause after its header
        assert long - greeting >= fault.seconds * 0.9


def test_catalogue_entries_have_unique_ids_and_descriptions() -> None:
    """Every TRANSPORT_FAULTS entry has a unique id and a description, and is a Fault."""
    ids = [fault.id for fault in TRANSPORT_FAULTS]
    assert len(set(ids)) == len(ids), ids
    for fault in TRANSPORT_FAULTS:
        assert isinstance(fault, Fault)
        assert fault.description
        assert fault.describe() == f"Fault.{fault.id}"
