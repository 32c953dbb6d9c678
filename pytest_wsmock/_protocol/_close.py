"""Close codes and close frame payloads (RFC 6455 sections 5.5.1 and 7.4)."""

from __future__ import annotations

import enum
import struct

from ._violations import Violation

__all__ = [
    "CloseCode",
    "build_close_payload",
    "close_code_name",
    "is_valid_close_code",
    "parse_close_payload",
]


class CloseCode(enum.IntEnum):
    """Close codes of RFC 6455 section 7.4.1 and the IANA registry (section 11.7)."""

    #: The purpose of the connection was fulfilled.
    NORMAL_CLOSURE = 1000
    #: The endpoint is going away (server shutdown, page navigation).
    GOING_AWAY = 1001
    #: The peer broke the protocol.
    PROTOCOL_ERROR = 1002
    #: A data type the endpoint cannot accept (e.g. binary when it only takes text).
    UNSUPPORTED_DATA = 1003
    #: No status code in the close frame; never sent on the wire.
    NO_STATUS_RCVD = 1005
    #: Connection lost without a close frame; never sent on the wire.
    ABNORMAL_CLOSURE = 1006
    #: Message data inconsistent with its type (e.g. invalid UTF-8 in text).
    INVALID_PAYLOAD_DATA = 1007
    #: A message that violates the endpoint's policy.
    POLICY_VIOLATION = 1008
    #: A message too big to process.
    MESSAGE_TOO_BIG = 1009
    #: The client expected the server to negotiate an extension (client only).
    MANDATORY_EXTENSION = 1010
    #: The server met an unexpected condition.
    INTERNAL_ERROR = 1011
    #: The service is restarting (IANA registry).
    SERVICE_RESTART = 1012
    #: Temporary overload, try again later (IANA registry).
    TRY_AGAIN_LATER = 1013
    #: A gateway got an invalid response upstream (IANA registry).
    BAD_GATEWAY = 1014
    #: TLS handshake failure; never sent on the wire.
    TLS_HANDSHAKE = 1015


def close_code_name(code: int) -> str:
    """Name a close code for humans: ``"1000 (NORMAL_CLOSURE)"``, ``"4001 (private use)"``."""
    try:
        return f"{code} ({CloseCode(code).name})"
    except ValueError:
        pass
    if 3000 <= code <= 3999:
        label = "registered"  # section 7.4.2: libraries, frameworks, applications (IANA)
    elif 4000 <= code <= 4999:
        label = "private use"
    elif 1000 <= code <= 2999:
        label = "reserved"
    else:
        label = "invalid"
    return f"{code} ({label})"


def is_valid_close_code(code: int) -> bool:
    """Whether ``code`` may appear in a close frame (RFC 6455 sections 7.4.1 and 7.4.2).

    1004 is reserved, 1005, 1006 and 1015 are for local use only, 1016-2999 are
    reserved for future RFCs and anything outside 1000-4999 is not a close code.
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def parse_close_payload(payload: bytes) -> tuple[int | None, str] | Violation:
    """Parse a close frame's payload (RFC 6455 section 5.5.1).

    The 125-byte limit of control frames is checked on the frame, not here.

    Returns:
        ``(code, reason)``: ``(None, "")`` for an empty payload; or a `Violation`
        (``close-payload-too-short`` or ``invalid-close-code``: 1002;
        ``invalid-close-reason``: 1007).
    """
    if not payload:
        return None, ""
    if len(payload) == 1:
        return Violation(
            "close-payload-too-short",
            f"close payload of 1 byte ({payload!r}): a code takes 2 bytes",
            "RFC 6455 section 5.5.1",
            close_code=1002,
        )
    code = int.from_bytes(payload[:2], "big")
    if not is_valid_close_code(code):
        return Violation(
            "invalid-close-code",
            f"close code {close_code_name(code)} may not be sent",
            "RFC 6455 section 7.4.1",
            close_code=1002,
        )
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        return Violation(
            "invalid-close-reason",
            f"close reason is not valid UTF-8: {payload[2:]!r}",
            "RFC 6455 section 5.5.1",
            close_code=1007,
        )
    return code, reason


def build_close_payload(code: int | None = None, reason: str | bytes = b"") -> bytes:
    """Build a close frame's payload, without validation (a mock may send illegal codes).

    Args:
        code: Packed as 2 bytes, network order, when given (0-65535).
        reason: Appended after the code; a ``str`` is encoded as UTF-8.

    Raises:
        ValueError: ``code`` does not fit in 2 bytes.
    """
    data = reason.encode("utf-8") if isinstance(reason, str) else bytes(reason)
    if code is None:
        return data
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"close code must fit in 2 bytes (0..65535), got {code}")
    return struct.pack("!H", code) + data
