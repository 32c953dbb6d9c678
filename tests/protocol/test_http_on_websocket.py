"""An HTTP request sent on an upgraded connection is named as such, not as a bad frame."""

from __future__ import annotations

import pytest

from pytest_wsmock._protocol import (
    FrameDecoder,
    MessageAssembler,
    RawFrame,
    Violation,
    encode_frame,
    looks_like_http_request,
)

REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
METHODS = ["GET", "POST", "HEAD", "PUT", "OPTIONS", "DELETE", "PATCH", "CONNECT", "TRACE"]


@pytest.mark.parametrize("method", METHODS)
def test_http_request_bytes_are_reported_as_such(method: str) -> None:
    """The decoder still yields a (bogus) frame to record; the assembler names the HTTP request."""
    wire = REQUEST.replace(b"GET", method.encode(), 1)
    decoder = FrameDecoder()
    first = decoder.feed(wire)[0]
    assert isinstance(first, RawFrame)  # recorded as the frame it decodes as
    assembler = MessageAssembler()
    (violation,) = assembler.receive(first)
    assert isinstance(violation, Violation)
    assert violation.kind == "http-request-on-websocket"
    assert violation.close_code == 1002
    assert violation.rfc == "RFC 6455 sections 5.1 and 5.2"
    assert "look like an HTTP request" in violation.detail
    assert repr(f"{method} /chat HTTP/1.1".encode()) in violation.detail
    assert assembler.failed


def test_ordinary_bad_frames_keep_their_kind() -> None:
    """An unmasked frame that is not HTTP text is still unmasked-frame."""
    (raw,) = FrameDecoder().feed(encode_frame(1, b"GET / HTTP/1.1"))
    assert isinstance(raw, RawFrame)
    (violation,) = MessageAssembler().receive(raw)
    assert isinstance(violation, Violation)
    assert violation.kind == "unmasked-frame"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"GET / HTTP/1.1\r\n", True),
        (b"OPTIONS * HTTP/1.1", True),
        (b"GET", False),
        (b"GETX / HTTP/1.1", False),
        (b"get / HTTP/1.1", False),
        (b"\x81\x85GET ", False),
    ],
)
def test_looks_like_http_request(data: bytes, expected: bool) -> None:
    """Only an upper-case HTTP method followed by a space counts."""
    assert looks_like_http_request(data) is expected


def test_short_http_request_is_named_in_the_pending_description() -> None:
    """An HTTP request shorter than the frame it seems to start is named at end of stream."""
    decoder = FrameDecoder()
    assert decoder.feed(b"GET / HTTP/1.1\r\n\r\n") == []
    assert decoder.describe_pending() == (
        "18 of 71 bytes of an unmasked RESERVED-7 frame (no FIN); "
        "they look like an HTTP request: b'GET / HTTP/1.1'"
    )
