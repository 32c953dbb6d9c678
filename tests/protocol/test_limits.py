"""Violations of the server's own limits carry ``limit=True``; rules the client broke do not."""

from __future__ import annotations

import zlib

from pytest_wsmock._protocol import (
    DeflateParams,
    FrameDecoder,
    MessageAssembler,
    PerMessageDeflate,
    RawFrame,
    RequestParser,
    Violation,
    encode_frame,
)

KEY = b"\x01\x02\x03\x04"


def client_compress(data: bytes) -> bytes:
    """Raw deflate, sync-flushed, tail removed, as a client sends it (RFC 7692 section 7.2.1)."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def test_violation_limit_defaults_to_false() -> None:
    """A Violation built without ``limit`` is a broken rule, not a limit."""
    assert Violation("x", "y", "RFC 6455").limit is False


def test_frame_too_large_is_a_limit() -> None:
    """A frame over max_frame_size is reported with limit=True."""
    (violation,) = FrameDecoder(max_frame_size=10).feed(encode_frame(2, b"x" * 11, mask_key=KEY))
    assert isinstance(violation, Violation)
    assert (violation.kind, violation.limit) == ("frame-too-large", True)


def test_invalid_length_is_not_a_limit() -> None:
    """A 64-bit length with its high bit set breaks a rule: limit=False."""
    (violation,) = FrameDecoder().feed(encode_frame(2, length=1 << 63, length_bits=64))
    assert isinstance(violation, Violation)
    assert (violation.kind, violation.limit) == ("invalid-length", False)


def test_message_too_big_is_a_limit() -> None:
    """A message over max_message_size, plain or inflated, is reported with limit=True."""
    (frame,) = FrameDecoder().feed(encode_frame(2, b"x" * 11, mask_key=KEY))
    assert isinstance(frame, RawFrame)
    (plain,) = MessageAssembler(max_message_size=10).receive(frame)
    wire = encode_frame(2, client_compress(b"x" * 100), rsv1=True, mask_key=KEY)
    (compressed_frame,) = FrameDecoder().feed(wire)
    assert isinstance(compressed_frame, RawFrame)
    assembler = MessageAssembler(max_message_size=10, deflate=PerMessageDeflate(DeflateParams()))
    (inflated,) = assembler.receive(compressed_frame)
    for violation in (plain, inflated):
        assert isinstance(violation, Violation)
        assert (violation.kind, violation.limit) == ("message-too-big", True)


def test_request_limits_are_limits() -> None:
    """414 and 431 from the request parser are limits; a malformed request (400) is not."""
    too_long = RequestParser(max_line=10).feed(b"GET /aaaaaaaaaaaa HTTP/1.1\r\n\r\n")
    too_large = RequestParser(max_headers=0).feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    malformed = RequestParser().feed(b"nonsense\r\n\r\n")
    assert isinstance(too_long, Violation)
    assert isinstance(too_large, Violation)
    assert isinstance(malformed, Violation)
    assert [(v.kind, v.limit) for v in (too_long, too_large, malformed)] == [
        ("request-line-too-long", True),
        ("headers-too-large", True),
        ("malformed-request", False),
    ]
