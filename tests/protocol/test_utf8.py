"""Tests for incremental UTF-8 validation."""

from __future__ import annotations

import pytest

from pytest_wsmock._protocol import Utf8Validator

TEXT = "a\xe9\u20ac\U0001f600z".encode()


@pytest.mark.parametrize("cut", range(len(TEXT) + 1))
def test_characters_split_across_fragments_are_valid(cut: int) -> None:
    """Any split point, including inside a multi-byte character, is fine."""
    validator = Utf8Validator()
    assert validator.feed(TEXT[:cut])
    assert validator.feed(TEXT[cut:], final=True)


def test_byte_at_a_time() -> None:
    """Feeding one byte per fragment is fine."""
    validator = Utf8Validator()
    assert all(validator.feed(TEXT[i : i + 1]) for i in range(len(TEXT)))
    assert validator.feed(b"", final=True)


@pytest.mark.parametrize(
    "fragment",
    [
        pytest.param(b"ok\xff", id="ff"),
        pytest.param(b"\xc0\xaf", id="overlong"),
        pytest.param(b"\xe0\x80", id="overlong-3-prefix"),
        pytest.param(b"\xed\xa0", id="surrogate-prefix"),
        pytest.param(b"\xed\xa0\x80", id="surrogate"),
        pytest.param(b"\xf4\x90", id="above-max-prefix"),
        pytest.param(b"\xf5", id="f5"),
        pytest.param(b"\x80", id="lone-continuation"),
    ],
)
def test_invalid_bytes_fail_on_the_first_fragment(fragment: bytes) -> None:
    """A sequence that can never be valid fails on the fragment that contains it."""
    validator = Utf8Validator()
    assert validator.feed(fragment) is False


def test_truncated_character_fails_only_when_final() -> None:
    """A character cut at the end is fine mid-message and invalid on the final fragment."""
    validator = Utf8Validator()
    assert validator.feed(b"\xe2\x82")
    assert validator.feed(b"", final=True) is False


def test_invalid_stays_invalid_until_reset() -> None:
    """Once invalid, every feed returns False; reset starts over."""
    validator = Utf8Validator()
    assert not validator.feed(b"\xff")
    assert not validator.feed(b"fine", final=True)
    validator.reset()
    assert validator.feed(b"fine", final=True)


def test_reset_forgets_a_pending_prefix() -> None:
    """reset drops a partial character, so ASCII after it is valid."""
    validator = Utf8Validator()
    assert validator.feed(b"\xe2")
    validator.reset()
    assert validator.feed(b"x", final=True)


def test_ascii_after_a_pending_prefix_is_invalid() -> None:
    """The ASCII fast path does not skip a pending partial character."""
    validator = Utf8Validator()
    assert validator.feed(b"\xe2")
    assert validator.feed(b"x") is False
