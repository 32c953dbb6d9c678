"""What FrameDecoder holds when the stream ends: `buffered` and `describe_pending`."""

from __future__ import annotations

import pytest

from pytest_wsmock._protocol import FrameDecoder, encode_frame

KEY = b"\x37\xfa\x21\x3d"


def test_nothing_pending_describes_as_none() -> None:
    """A decoder at a frame boundary holds nothing and describes nothing."""
    decoder = FrameDecoder()
    assert decoder.describe_pending() is None
    decoder.feed(encode_frame(1, b"whole", mask_key=KEY))
    assert (decoder.buffered, decoder.describe_pending()) == (0, None)


def test_one_header_byte_is_described() -> None:
    """A single byte is part of a frame header whose size is not known yet."""
    decoder = FrameDecoder()
    decoder.feed(encode_frame(1, b"hello", mask_key=KEY)[:1])
    assert decoder.buffered == 1
    assert decoder.describe_pending() == "1 byte of a frame header"


@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        pytest.param(3, "3 of 6 bytes of the header of a masked TEXT frame", id="mask-key"),
        pytest.param(2, "2 of 6 bytes of the header of a masked TEXT frame", id="two-bytes"),
    ],
)
def test_partial_header_is_described(cut: int, expected: str) -> None:
    """A header cut short says how much of it arrived and what frame it starts."""
    decoder = FrameDecoder()
    decoder.feed(encode_frame(1, b"hello", mask_key=KEY)[:cut])
    assert decoder.buffered == cut
    assert decoder.describe_pending() == expected


def test_partial_extended_length_is_described() -> None:
    """A 16-bit length form cut inside the length counts toward the full header size."""
    decoder = FrameDecoder()
    decoder.feed(encode_frame(2, bytes(300), fin=False)[:3])
    assert decoder.describe_pending() == (
        "3 of 4 bytes of the header of an unmasked BINARY frame (no FIN)"
    )


def test_partial_payload_is_described() -> None:
    """A frame cut in its payload says how many of its bytes arrived."""
    wire = encode_frame(1, b"hello world", mask_key=KEY)
    assert len(wire) == 17
    decoder = FrameDecoder()
    decoder.feed(wire[:9])
    assert decoder.buffered == 9
    assert decoder.describe_pending() == "9 of 17 bytes of a masked TEXT frame"


def test_reserved_opcode_is_named() -> None:
    """A pending frame with a reserved opcode is named like opcode_name does."""
    decoder = FrameDecoder()
    decoder.feed(encode_frame(3, b"abc", mask_key=KEY)[:8])
    assert decoder.describe_pending() == "8 of 9 bytes of a masked RESERVED-3 frame"


def test_failed_decoder_holds_nothing() -> None:
    """After a fatal framing error nothing is held, so nothing is described."""
    decoder = FrameDecoder(max_frame_size=1)
    decoder.feed(encode_frame(2, b"too big", mask_key=KEY)[:4])
    assert decoder.failed
    assert (decoder.buffered, decoder.describe_pending()) == (0, None)
