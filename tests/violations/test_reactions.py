"""The matrix's own machinery: reactions read off a run, verdicts, the adapters' hard bound."""

from __future__ import annotations

from pytest_wsmock import FRAME_VIOLATIONS, CloseInfo, Direction, FrameViolation

from .clients import Observed
from .reactions import (
    closed,
    describe,
    dropped,
    either,
    ending_of,
    kept_open,
    reaction_of,
    received_code,
    shown,
    verdict,
)


def _entry(entry_id: str) -> FrameViolation:
    return next(entry for entry in FRAME_VIOLATIONS if entry.id == entry_id)


def _close(*, sent: bool, code: int | None = None, tcp_by: Direction) -> CloseInfo:
    return CloseInfo(
        initiator=Direction.CLIENT if sent else None,
        client_sent=sent,
        client_code=code,
        client_reason="",
        server_sent=sent,
        server_code=code,
        server_reason="",
        tcp_closed_by=tcp_by,
        tcp_end="fin",
    )


def test_ending_comes_from_the_server_record() -> None:
    """A close frame gives its code; no close frame, the side that closed TCP first."""
    assert ending_of(_close(sent=True, code=1002, tcp_by=Direction.SERVER)) == "closed 1002"
    assert ending_of(_close(sent=True, tcp_by=Direction.SERVER)) == "closed"
    assert ending_of(_close(sent=False, tcp_by=Direction.CLIENT)) == "dropped"
    assert ending_of(_close(sent=False, tcp_by=Direction.SERVER)) == "kept open"


def test_reaction_drops_the_leading_before_only() -> None:
    """The legal "before" is not part of the reaction; everything delivered after it is."""
    close = _close(sent=False, tcp_by=Direction.SERVER)
    observed = Observed(("before", "masked", "after"), "WSMsgType.CLOSED")
    assert reaction_of(observed, close) == kept_open("WSMsgType.CLOSED", "masked", "after")
    assert reaction_of(Observed((), "EOF"), close) == kept_open("EOF")
    assert closed(1002, "X").code == 1002
    assert closed(None, "X").code is None
    assert dropped("X").code is None


def test_verdicts() -> None:
    """Right code: compliant; dropped, kept open or another code: partly; data, or a broken
    close frame taken for a normal one: accepted."""
    rsv2, utf8, code_5000 = _entry("rsv2"), _entry("invalid-utf8"), _entry("close-code-5000")
    assert received_code(code_5000) == 5000
    assert verdict(closed(1002, "E"), rsv2) == "compliant"
    assert verdict(closed(1007, "E"), utf8) == "compliant"
    assert verdict(closed(1002, "E"), utf8) == "partly"
    assert verdict(dropped("E"), rsv2) == "partly"
    assert verdict(closed(1000, "E"), rsv2) == "partly"
    assert verdict(closed(1002, "E", "after"), rsv2) == "accepted"
    assert verdict(kept_open("E"), rsv2) == "partly"
    assert verdict(kept_open("E", "rsv2"), rsv2) == "accepted"
    assert verdict(closed(1000, "WSMsgType.CLOSE"), code_5000) == "accepted"
    assert verdict(closed(1000, "WebSocketDisconnect(5000)"), code_5000) == "accepted"
    assert verdict(closed(5000, "close frame"), code_5000) == "accepted"
    assert verdict(closed(1000, "WebSocketProtocolException"), code_5000) == "partly"
    assert verdict(closed(1002, "WSMsgType.CLOSE"), code_5000) == "compliant"


def test_descriptions_are_short_and_stable() -> None:
    """Pinned reactions print readably; long payloads are cut."""
    assert str(closed(1002, "ConnectionClosedError")) == (
        "closed 1002, reported ConnectionClosedError"
    )
    assert describe(either(dropped("B"), closed(1002, "A"))) == (
        "closed 1002, reported A or dropped, reported B"
    )
    assert str(kept_open(None, "x")) == "delivered 'x', kept open"
    assert shown(("a" * 40, b"b")) == "'aaaaaaaaaaaaaaaaaaaa..., b'b'"


def test_catalogue_entries_have_id_description_rule_and_close_code() -> None:
    """Every entry has a unique id, a description, the rule it breaks and a close code that a
    client may send (1002, 1007 or 1009)."""
    ids = [entry.id for entry in FRAME_VIOLATIONS]
    assert len(set(ids)) == len(ids), ids
    for entry in FRAME_VIOLATIONS:
        assert entry.description
        assert entry.rfc.startswith("RFC 6455"), entry.id
        assert entry.close_code in (1002, 1007, 1009), entry.id
        assert entry.frames, entry.id
