"""The Chromium adapter's parts that need no browser: the skip reason and the failure text."""

from __future__ import annotations

import pytest

from .chromium import ChromiumFailure, missing


def test_missing_tools_name_the_install_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    reason = missing()
    assert reason is not None
    assert "chromium, chromedriver, certutil" in reason
    assert "chromium chromium-driver libnss3-tools" in reason
    assert ".ci/install-chromium" in reason


@pytest.mark.parametrize(
    ("events", "note", "text", "kind", "message"),
    [
        (
            [{"type": "error"}, {"type": "close", "code": 1006, "reason": "", "clean": False}],
            "",
            "error event, then close 1006 (wasClean=false)",
            "error event",
            "close 1006 (wasClean=false)",
        ),
        (
            [{"type": "open"}, {"type": "close", "code": 4000, "reason": "bye", "clean": True}],
            "",
            "close 4000 'bye' (wasClean=true)",
            "close event",
            "close 4000 'bye' (wasClean=true)",
        ),
        (
            [{"type": "exception", "name": "SyntaxError", "message": "bad URL"}],
            "",
            "SyntaxError: bad URL",
            "SyntaxError",
            "bad URL",
        ),
        (
            [],
            "no open event within 0.5 s",
            "no open event within 0.5 s: no event",
            "no event",
            "no open event within 0.5 s",
        ),
    ],
)
def test_failure_says_what_page_script_saw(
    events: list[dict[str, object]], note: str, text: str, kind: str, message: str
) -> None:
    failure = ChromiumFailure(events, note)
    assert str(failure) == text
    assert (failure.type, failure.message) == (kind, message)  # what a kit verdict shows
    assert failure.error == any(event["type"] == "error" for event in events)
