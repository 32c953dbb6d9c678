"""The client adapters' own machinery: outcome records, exception names, the hard bound."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import websockets.exceptions

from .._bounded import ClientHung, bounded, exception_name
from .clients import (
    HUNG,
    OPENED,
    Outcome,
    describe,
    either,
    refused,
)


def test_outcome_records_compare_by_value() -> None:
    """Outcomes are frozen values: equal when the name and status are equal."""
    assert refused("InvalidStatus", 403) == refused("InvalidStatus", 403)
    assert refused("InvalidStatus", 403) != refused("InvalidStatus")
    assert OPENED.opened
    assert not HUNG.opened
    assert not refused("X").opened
    assert str(refused("InvalidStatus", 403)) == "refused with InvalidStatus (status 403)"
    assert describe(either(refused("B"), refused("A"))) == "refused with A or refused with B"


def test_exception_names_are_qualified_only_when_foreign() -> None:
    """The client's own and builtin exceptions keep their bare name; others get their package."""
    assert exception_name(websockets.exceptions.InvalidUpgrade("Upgrade"), "websockets") == (
        "InvalidUpgrade"
    )
    assert exception_name(TimeoutError(), "websockets") == "TimeoutError"
    assert exception_name(httpx.ReadTimeout("slow"), "httpx_ws") == "httpx.ReadTimeout"


def test_bounded_returns_the_result_and_raises_the_error() -> None:
    """bounded passes a result or an exception through from its worker thread."""
    assert bounded("quick", lambda: OPENED, 1.0) == OPENED

    def fail() -> object:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        bounded("failing", fail, 1.0)


def test_bounded_fails_a_client_that_hangs() -> None:
    """A client still busy after the bound fails the test at once instead of hanging it."""
    release = threading.Event()

    def stuck() -> Outcome:
        release.wait(10)
        return OPENED

    start = time.monotonic()
    try:
        with pytest.raises(ClientHung, match=r"stuck-client was still opening after 0\.2 s"):
            bounded("stuck-client", stuck, 0.2, doing="opening")
    finally:
        release.set()
    assert time.monotonic() - start < 5  # well before the stuck client's own 10 s
