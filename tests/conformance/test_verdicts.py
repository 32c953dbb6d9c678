"""The verdict logic of the conformance kit, without clients: what a case's observations and
the server's record make."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_wsmock.conformance import Verdict
from pytest_wsmock.conformance._verdict import (
    Observed,
    error_message,
    error_name,
    fault_verdict,
    frame_violation_verdict,
    opening_verdict,
)


class Refused(Exception):
    """A client's failure."""


class Foreign(Exception):
    """A failure that names a foreign client's type, as a driver's does."""

    def __init__(self) -> None:
        super().__init__("Error: boom")
        self.type = "Error"
        self.message = "boom on 127.0.0.1:4242"


def failed(where: str = "receive", error: BaseException | None = None, **kw: object) -> Observed:
    return Observed(error=error or Refused("no"), where=where, **kw)  # type: ignore[arg-type]


def test_opening_verdicts() -> None:
    """A handshake or TLS entry: refused is caught, opened is accepted, no answer is hung."""
    assert opening_verdict(failed("connect")) == Verdict("caught", "Refused", "no")
    assert opening_verdict(Observed(opened=True)).summary == "accepted"
    assert opening_verdict(Observed(hung=True, where="connect")).summary == "hung"


def test_frame_violation_caught_by_exception_records_the_close_frame() -> None:
    """An exception is caught, with the close frame the server recorded."""
    verdict = frame_violation_verdict(
        failed(), ends_with_close=False, received_code=None, sent_close=True, close_code=1002
    )
    assert verdict.summary == "caught Refused, sent close 1002"
    assert (verdict.sent_close, verdict.close_code) == (True, 1002)


def test_frame_violation_delivered_is_accepted() -> None:
    """A client that delivered the violating payload (or "after") accepted it."""
    observed = failed(delivered=["after"])
    verdict = frame_violation_verdict(
        observed, ends_with_close=False, received_code=None, sent_close=False, close_code=None
    )
    assert verdict.summary == "accepted, sent no close"
    assert verdict.message == "delivered 'after'"


@pytest.mark.parametrize(
    ("code", "kind"), [(None, "accepted"), (1000, "accepted"), (999, "accepted"), (1002, "caught")]
)
def test_frame_violation_broken_close_frame(code: int | None, kind: str) -> None:
    """A broken close frame (code 999) answered with no code, 1000 or 999 was taken for a
    normal close, whatever the client raised; answered with 1002, it was caught."""
    verdict = frame_violation_verdict(
        failed(), ends_with_close=True, received_code=999, sent_close=True, close_code=code
    )
    assert verdict.kind == kind


def test_frame_violation_close_code_without_exception_is_caught() -> None:
    """A client that raised nothing but failed the connection with a code caught it; one
    that did neither accepted it."""
    quiet = Observed(timed_out=True)
    closed = frame_violation_verdict(
        quiet, ends_with_close=False, received_code=None, sent_close=True, close_code=1002
    )
    assert closed.summary == "caught, sent close 1002"
    open_ = frame_violation_verdict(
        quiet, ends_with_close=False, received_code=None, sent_close=False, close_code=None
    )
    assert open_.summary == "accepted, sent no close"


def test_fault_verdicts() -> None:
    """A fault: an exception is caught; every message received (or nothing noticed) is
    accepted, and the message says which; hung is hung; the close frame is the record's."""
    none: dict[str, Any] = {"sent_close": False, "close_code": None}
    assert fault_verdict(failed(), expected=("hello",), **none).summary == (
        "caught Refused, sent no close"
    )
    quiet = Observed(delivered=["hello"], timed_out=True)
    verdict = fault_verdict(quiet, expected=("hello",), sent_close=True, close_code=1000)
    assert verdict.summary == "accepted, sent close 1000"
    assert verdict.message == "noticed nothing within its timeout"
    short = Observed(delivered=["hello"])
    assert "not 'hello', 'x'" in str(fault_verdict(short, expected=("hello", "x"), **none))
    assert fault_verdict(Observed(hung=True), expected=(), **none).kind == "hung"


def test_error_name_and_message() -> None:
    """An exception's own ``type`` and ``message`` win; the port is written PORT."""
    assert error_name(Foreign()) == "Error"
    assert error_message(Foreign(), port=4242) == "boom on 127.0.0.1:PORT"
    assert error_name(ConnectionResetError()) == "ConnectionResetError"
    assert len(error_message(Refused("x" * 500))) == 200


def test_verdict_json_round_trip_and_str() -> None:
    """A verdict survives JSON (the xdist hand-over), and shows its message."""
    verdict = Verdict("caught", "Refused", "no", True, 1002)
    assert Verdict.from_json(verdict.to_json()) == verdict
    assert str(verdict) == "caught Refused, sent close 1002 (no)"
    assert Verdict("hung", message="connect did not return in time").summary == "hung"
    assert Verdict("accepted", sent_close=True).summary == "accepted, sent close without code"
