"""Tests for close codes and close payloads."""

from __future__ import annotations

import pytest

from pytest_wsmock._protocol import (
    CloseCode,
    Violation,
    build_close_payload,
    close_code_name,
    is_valid_close_code,
    parse_close_payload,
)


def test_close_code_values() -> None:
    """CloseCode members have the RFC 6455 and IANA values."""
    assert CloseCode.NORMAL_CLOSURE.value == 1000
    assert CloseCode.PROTOCOL_ERROR.value == 1002
    assert CloseCode.NO_STATUS_RCVD.value == 1005
    assert CloseCode.ABNORMAL_CLOSURE.value == 1006
    assert CloseCode.INVALID_PAYLOAD_DATA.value == 1007
    assert CloseCode.MESSAGE_TOO_BIG.value == 1009
    assert CloseCode.TLS_HANDSHAKE.value == 1015
    assert len(CloseCode) == 15


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (1000, "1000 (NORMAL_CLOSURE)"),
        (1011, "1011 (INTERNAL_ERROR)"),
        (1004, "1004 (reserved)"),
        (2999, "2999 (reserved)"),
        (3000, "3000 (registered)"),
        (4001, "4001 (private use)"),
        (999, "999 (invalid)"),
        (5000, "5000 (invalid)"),
    ],
)
def test_close_code_name(code: int, name: str) -> None:
    """close_code_name gives the number and a label."""
    assert close_code_name(code) == name


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (0, False),
        (999, False),
        (1000, True),
        (1003, True),
        (1004, False),
        (1005, False),
        (1006, False),
        (1007, True),
        (1014, True),
        (1015, False),
        (1016, False),
        (2999, False),
        (3000, True),
        (4999, True),
        (5000, False),
        (65535, False),
    ],
)
def test_is_valid_close_code(code: int, valid: bool) -> None:
    """Only 1000-1003, 1007-1014 and 3000-4999 may be sent."""
    assert is_valid_close_code(code) is valid


def test_parse_close_payload_empty() -> None:
    """An empty payload means no status code."""
    assert parse_close_payload(b"") == (None, "")


def test_parse_close_payload_code_and_reason() -> None:
    """A code and a UTF-8 reason are returned."""
    assert parse_close_payload(b"\x03\xe8") == (1000, "")
    assert parse_close_payload(b"\x0f\xa1caf\xc3\xa9") == (4001, "caf\xe9")


@pytest.mark.parametrize(
    ("payload", "kind", "close_code"),
    [
        (b"\x03", "close-payload-too-short", 1002),
        (b"\x03\xed", "invalid-close-code", 1002),
        (b"\x03\xee", "invalid-close-code", 1002),
        (b"\x00\x00", "invalid-close-code", 1002),
        (b"\x13\x88", "invalid-close-code", 1002),
        (b"\x03\xe8\xff", "invalid-close-reason", 1007),
        (b"\x03\xe8ok\xc3", "invalid-close-reason", 1007),
    ],
)
def test_parse_close_payload_violations(payload: bytes, kind: str, close_code: int) -> None:
    """Bad close payloads give violations with the close code to answer with."""
    result = parse_close_payload(payload)
    assert isinstance(result, Violation)
    assert (result.kind, result.close_code, result.fatal) == (kind, close_code, True)
    assert result.rfc.startswith("RFC 6455 section")


def test_build_close_payload() -> None:
    """Codes are packed big-endian; str reasons are UTF-8; bytes are kept."""
    assert build_close_payload() == b""
    assert build_close_payload(1000) == b"\x03\xe8"
    assert build_close_payload(1001, "caf\xe9") == b"\x03\xe9caf\xc3\xa9"
    assert build_close_payload(1000, b"\xff") == b"\x03\xe8\xff"


def test_build_close_payload_allows_illegal_values() -> None:
    """Illegal codes and a reason without a code are written on purpose."""
    assert build_close_payload(1005) == b"\x03\xed"
    assert build_close_payload(0) == b"\x00\x00"
    assert build_close_payload(65535) == b"\xff\xff"
    assert build_close_payload(None, "orphan") == b"orphan"


@pytest.mark.parametrize("code", [-1, 65536])
def test_build_close_payload_rejects_codes_over_two_bytes(code: int) -> None:
    """Codes that do not fit in 2 bytes are a ValueError."""
    with pytest.raises(ValueError, match="2 bytes"):
        build_close_payload(code)


def test_close_payload_round_trip() -> None:
    """build then parse gives back the code and reason."""
    assert parse_close_payload(build_close_payload(3001, "\u2603 bye")) == (3001, "\u2603 bye")
