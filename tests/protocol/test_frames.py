"""Tests for frame encoding, decoding, masking and the structural checks of the decoder."""

from __future__ import annotations

import itertools
import os

import pytest

from pytest_wsmock._protocol import (
    FrameDecoder,
    Opcode,
    RawFrame,
    Violation,
    apply_mask,
    encode_frame,
    opcode_name,
)

MiB = 1 << 20
KEY = b"\x37\xfa\x21\x3d"
LENGTHS = [0, 1, 125, 126, 65535, 65536, MiB]


def naive_mask(data: bytes, key: bytes) -> bytes:
    return bytes(byte ^ key[index % 4] for index, byte in enumerate(data))


def decode_all(data: bytes, max_frame_size: int | None = None) -> list[RawFrame | Violation]:
    return FrameDecoder(max_frame_size=max_frame_size).feed(data)


def decode_one(data: bytes) -> RawFrame:
    events = decode_all(data)
    assert len(events) == 1
    frame = events[0]
    assert isinstance(frame, RawFrame)
    return frame


# -- masking ------------------------------------------------------------------------------


def test_apply_mask_rfc_example() -> None:
    """'Hello' masked with 37 fa 21 3d gives the bytes of RFC 6455 section 5.7."""
    assert apply_mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 4095, 4096, 4097, 100_003])
def test_apply_mask_matches_naive_loop(size: int) -> None:
    """apply_mask equals a per-byte reference on both sides of the size threshold."""
    data = os.urandom(size)
    assert apply_mask(data, KEY) == naive_mask(data, KEY)
    assert apply_mask(apply_mask(data, KEY), KEY) == data


def test_apply_mask_accepts_bytearray() -> None:
    """bytearray input gives bytes output."""
    assert apply_mask(bytearray(b"Hello"), KEY) == bytes.fromhex("7f9f4d5158")


@pytest.mark.parametrize("key", [b"", b"abc", b"abcde"])
def test_apply_mask_rejects_bad_keys(key: bytes) -> None:
    """A key that is not 4 bytes is a ValueError."""
    with pytest.raises(ValueError, match="4 bytes"):
        apply_mask(b"data", key)


# -- opcodes ------------------------------------------------------------------------------


def test_opcode_values_and_control() -> None:
    """Opcodes have the RFC values; 8 and above are control opcodes."""
    assert [int(op) for op in Opcode] == [0, 1, 2, 8, 9, 10]
    assert [op.is_control for op in Opcode] == [False, False, False, True, True, True]


def test_opcode_name() -> None:
    """Known opcodes by name, reserved ones as RESERVED-n."""
    assert opcode_name(1) == "TEXT"
    assert opcode_name(10) == "PONG"
    assert opcode_name(3) == "RESERVED-3"
    assert opcode_name(15) == "RESERVED-15"
    assert opcode_name(16) == "INVALID-16"


# -- encoding: exact bytes ----------------------------------------------------------------


def test_encode_rfc_examples() -> None:
    """encode_frame reproduces the examples of RFC 6455 section 5.7."""
    assert encode_frame(Opcode.TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")
    assert encode_frame(Opcode.TEXT, b"Hello", mask_key=KEY) == bytes.fromhex(
        "818537fa213d7f9f4d5158"
    )
    assert encode_frame(Opcode.TEXT, b"Hel", fin=False) == bytes.fromhex("010348656c")
    assert encode_frame(Opcode.CONTINUATION, b"lo") == bytes.fromhex("80026c6f")
    assert encode_frame(Opcode.PING, b"Hello") == bytes.fromhex("890548656c6c6f")
    assert encode_frame(Opcode.BINARY, bytes(256))[:4] == bytes.fromhex("827e0100")
    assert encode_frame(Opcode.BINARY, bytes(65536))[:10] == bytes.fromhex("827f0000000000010000")


def test_encode_sets_rsv_bits() -> None:
    """RSV1-3 map to bits 6-4 of the first byte."""
    assert encode_frame(1, rsv1=True)[0] == 0xC1
    assert encode_frame(1, rsv2=True)[0] == 0xA1
    assert encode_frame(1, rsv3=True)[0] == 0x91
    assert encode_frame(1, fin=False, rsv1=True, rsv2=True, rsv3=True)[0] == 0x71


@pytest.mark.parametrize(
    ("length_bits", "declared", "header"),
    [
        (7, 5, "8205"),
        (16, 5, "827e0005"),
        (64, 5, "827f0000000000000005"),
        (16, 125, "827e007d"),
        (64, 65535, "827f000000000000ffff"),
        (64, 2**63, "827f8000000000000000"),
        (64, 2**64 - 1, "827fffffffffffffffff"),
    ],
)
def test_encode_forced_length_forms(length_bits: int, declared: int, header: str) -> None:
    """length_bits forces the 7, 16 or 64-bit form, non-minimal or high-bit lengths included."""
    frame = encode_frame(2, b"abcde", length=declared, length_bits=length_bits)
    assert frame == bytes.fromhex(header) + b"abcde"


def test_encode_lying_length() -> None:
    """length writes a declared length that differs from the real payload."""
    assert encode_frame(2, b"abc", length=10) == b"\x82\x0aabc"
    assert encode_frame(2, b"abc", length=200) == b"\x82\x7e\x00\xc8abc"
    assert encode_frame(2, b"", length=2**62) == b"\x82\x7f" + (2**62).to_bytes(8, "big")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"length_bits": 7, "length": 126}, "does not fit"),
        ({"length_bits": 16, "length": 65536}, "does not fit"),
        ({"length_bits": 64, "length": 2**64}, "does not fit"),
        ({"length": 2**64}, "does not fit"),
        ({"length_bits": 8}, "length_bits"),
        ({"length": -1}, "negative"),
        ({"mask_key": b"abc"}, "4 bytes"),
    ],
)
def test_encode_rejects_impossible_frames(kwargs: dict[str, int], message: str) -> None:
    """Lengths the chosen form cannot carry, bad length forms and bad keys are ValueErrors."""
    with pytest.raises(ValueError, match=message):
        encode_frame(2, b"abc", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("opcode", [-1, 16])
def test_encode_rejects_opcodes_outside_4_bits(opcode: int) -> None:
    """Opcodes outside 0-15 cannot be written."""
    with pytest.raises(ValueError, match="opcode"):
        encode_frame(opcode)


# -- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("length", LENGTHS)
def test_round_trip_lengths(length: int, masked: bool) -> None:
    """Every length form decodes back to the same payload, masked or not."""
    payload = os.urandom(length)
    mask_key = KEY if masked else None
    wire = encode_frame(Opcode.BINARY, payload, mask_key=mask_key)
    frame = decode_one(wire)
    assert frame.payload == payload
    assert frame.masked is masked
    assert frame.mask_key == mask_key
    expected_header = 2 + (0 if length < 126 else 2 if length < 65536 else 8) + 4 * masked
    assert frame.header == wire[:expected_header]
    assert frame.wire_length == len(wire)
    assert frame.header + frame.wire_payload == wire


@pytest.mark.parametrize("opcode", range(16))
def test_round_trip_every_opcode_and_rsv_combination(opcode: int) -> None:
    """All 16 opcodes with every FIN/RSV combination decode to the same bits."""
    for fin, rsv1, rsv2, rsv3, masked in itertools.product([False, True], repeat=5):
        wire = encode_frame(
            opcode,
            b"xy",
            fin=fin,
            rsv1=rsv1,
            rsv2=rsv2,
            rsv3=rsv3,
            mask_key=KEY if masked else None,
        )
        frame = decode_one(wire)
        assert (frame.opcode, frame.fin, frame.rsv1, frame.rsv2, frame.rsv3) == (
            opcode,
            fin,
            rsv1,
            rsv2,
            rsv3,
        )
        assert (frame.masked, frame.payload) == (masked, b"xy")


def test_decoder_feeds_byte_at_a_time() -> None:
    """Feeding one byte per call yields the same frames as one big feed."""
    wire = b"".join(
        [
            encode_frame(1, b"Hel", fin=False, mask_key=KEY),
            encode_frame(9, b"", mask_key=b"\0\0\0\0"),
            encode_frame(0, b"lo", mask_key=KEY),
            encode_frame(2, os.urandom(300)),
            encode_frame(2, os.urandom(70000), mask_key=KEY),
            encode_frame(8, b"\x03\xe8"),
        ]
    )
    decoder = FrameDecoder()
    events: list[RawFrame | Violation] = []
    for index in range(len(wire)):
        events.extend(decoder.feed(wire[index : index + 1]))
        assert decoder.buffered <= 14 + 70000
    assert events == decode_all(wire)
    assert [event.opcode for event in events if isinstance(event, RawFrame)] == [1, 9, 0, 2, 2, 8]
    assert decoder.buffered == 0


def test_decoder_handles_many_frames_in_one_chunk() -> None:
    """A thousand frames in one chunk all come out, in order."""
    payloads = [os.urandom(index % 300) for index in range(1000)]
    wire = b"".join(encode_frame(2, payload, mask_key=KEY) for payload in payloads)
    events = decode_all(wire)
    assert [event.payload for event in events if isinstance(event, RawFrame)] == payloads


def test_decoder_keeps_partial_frames_buffered() -> None:
    """Bytes of an incomplete frame stay buffered until the rest arrives."""
    wire = encode_frame(2, b"0123456789", mask_key=KEY) + encode_frame(1, b"x")
    decoder = FrameDecoder()
    assert decoder.feed(wire[:1]) == []
    assert decoder.buffered == 1
    assert decoder.feed(wire[1:9]) == []
    assert decoder.buffered == 9
    events = decoder.feed(wire[9:17])
    assert len(events) == 1
    assert decoder.buffered == 1
    assert len(decoder.feed(wire[17:])) == 1
    assert decoder.buffered == 0


def test_decoder_accepts_a_1mib_frame_in_chunks() -> None:
    """A 1 MiB masked frame fed in 1000-byte chunks comes out once, intact."""
    payload = os.urandom(MiB)
    wire = encode_frame(2, payload, mask_key=KEY)
    decoder = FrameDecoder()
    events: list[RawFrame | Violation] = []
    for index in range(0, len(wire), 1000):
        events.extend(decoder.feed(wire[index : index + 1000]))
    assert len(events) == 1
    assert isinstance(events[0], RawFrame)
    assert events[0].payload == payload


def test_decoder_with_lying_lengths() -> None:
    """A declared length decides the frame boundary, whatever the sender meant."""
    decoder = FrameDecoder()
    assert decoder.feed(encode_frame(2, b"abc", length=10)) == []
    events = decoder.feed(b"defghij" + b"\x81\x00")
    assert [(e.opcode, e.payload) for e in events if isinstance(e, RawFrame)] == [
        (2, b"abcdefghij"),
        (1, b""),
    ]
    short = decode_all(encode_frame(2, b"a\x81\x00", length=1))
    assert [(e.opcode, e.payload) for e in short if isinstance(e, RawFrame)] == [
        (2, b"a"),
        (1, b""),
    ]


# -- decoder violations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length_bits", "length"), [(16, 0), (16, 125), (64, 0), (64, 125), (64, 65535)]
)
def test_non_minimal_length_is_a_non_fatal_violation(length_bits: int, length: int) -> None:
    """A non-minimal length gives a non-fatal violation, then the frame itself."""
    payload = os.urandom(length)
    wire = encode_frame(2, payload, length_bits=length_bits, mask_key=KEY)
    decoder = FrameDecoder()
    events = decoder.feed(wire + encode_frame(1, b"next", mask_key=KEY))
    assert len(events) == 3
    violation, frame, following = events
    assert isinstance(violation, Violation)
    assert (violation.kind, violation.close_code, violation.fatal) == (
        "non-minimal-length",
        1002,
        False,
    )
    assert isinstance(frame, RawFrame)
    assert frame.payload == payload
    assert frame.header == wire[: len(wire) - length]
    assert isinstance(following, RawFrame)
    assert not decoder.failed


def test_non_minimal_length_reported_once_when_fed_slowly() -> None:
    """Byte-at-a-time feeding reports the non-minimal length once, before the frame."""
    wire = encode_frame(2, b"abc", length_bits=64, mask_key=KEY)
    decoder = FrameDecoder()
    events = [
        event for index in range(len(wire)) for event in decoder.feed(wire[index : index + 1])
    ]
    assert [type(event) for event in events] == [Violation, RawFrame]


def test_high_bit_length_is_fatal() -> None:
    """A 64-bit length with its top bit set fails the decoder with 1002."""
    decoder = FrameDecoder()
    events = decoder.feed(encode_frame(1, b"ok") + encode_frame(2, b"", length=2**63))
    assert isinstance(events[0], RawFrame)
    violation = events[1]
    assert isinstance(violation, Violation)
    assert (violation.kind, violation.close_code, violation.fatal) == ("invalid-length", 1002, True)
    assert decoder.failed
    assert decoder.buffered == 0
    assert decoder.feed(encode_frame(1, b"ignored")) == []


def test_max_frame_size_is_enforced_from_the_header_alone() -> None:
    """A header claiming 2**62 bytes is rejected at once, without waiting or buffering."""
    decoder = FrameDecoder(max_frame_size=MiB)
    header = encode_frame(2, b"", length=2**62)
    assert len(header) == 10
    events = decoder.feed(header)
    assert len(events) == 1
    violation = events[0]
    assert isinstance(violation, Violation)
    assert (violation.kind, violation.close_code, violation.fatal) == (
        "frame-too-large",
        1009,
        True,
    )
    assert decoder.failed
    assert decoder.buffered < 16
    assert decoder.feed(os.urandom(4096)) == []
    assert decoder.buffered < 16


def test_max_frame_size_checked_before_the_mask_key_arrives() -> None:
    """The length limit is applied as soon as the length field is complete."""
    decoder = FrameDecoder(max_frame_size=1000)
    wire = encode_frame(2, b"", length=1001, mask_key=KEY)
    assert decoder.feed(wire[:3]) == []
    events = decoder.feed(wire[3:4])
    assert [event.kind for event in events if isinstance(event, Violation)] == ["frame-too-large"]


def test_max_frame_size_allows_the_limit_itself() -> None:
    """A frame of exactly max_frame_size bytes is accepted."""
    events = decode_all(encode_frame(2, bytes(1000)), max_frame_size=1000)
    assert isinstance(events[0], RawFrame)


# -- RawFrame -----------------------------------------------------------------------------


def test_raw_frame_repr() -> None:
    """The repr names the opcode, flags, size and a payload preview."""
    frame = decode_one(encode_frame(1, b"hello", mask_key=KEY))
    assert repr(frame) == "RawFrame(TEXT, fin=True, masked=True, 5 bytes, b'hello')"


def test_raw_frame_repr_truncates_and_names_reserved_opcodes() -> None:
    """Long payloads are cut at 32 bytes; reserved opcodes and RSV bits are shown."""
    frame = decode_one(encode_frame(3, b"a" * 40, fin=False, rsv2=True))
    assert repr(frame) == (
        f"RawFrame(RESERVED-3, fin=False, rsv2=True, masked=False, 40 bytes, b'{'a' * 32}'...)"
    )


def test_raw_frame_wire_payload() -> None:
    """wire_payload re-masks masked payloads and is the payload itself otherwise."""
    masked = decode_one(encode_frame(1, b"Hello", mask_key=KEY))
    assert masked.wire_payload == bytes.fromhex("7f9f4d5158")
    plain = decode_one(encode_frame(1, b"Hello"))
    assert plain.wire_payload == b"Hello"
    assert plain.mask_key is None


@pytest.mark.parametrize("piece", [1, 3, 4, 7, 65536])
@pytest.mark.parametrize("mask_key", [KEY, None])
def test_a_payload_in_many_reads_is_unmasked_piece_by_piece(
    piece: int, mask_key: bytes | None
) -> None:
    """A payload that comes in many reads is kept in pieces (unmasked as they come, the key
    turned to where each piece starts) and joined once: the same frame as in one read, and
    ``buffered`` counts what is held meanwhile."""
    payload = os.urandom(200_003 if piece > 7 else 1_001)
    second = encode_frame(9, b"next", mask_key=mask_key)
    wire = encode_frame(2, payload, mask_key=mask_key) + second
    decoder = FrameDecoder()
    events: list[RawFrame | Violation] = []
    for start in range(0, len(wire), piece):
        events += decoder.feed(wire[start : start + piece])
        if not events:
            assert decoder.buffered == min(start + piece, len(wire))
    assert events == [*FrameDecoder().feed(wire)]
    first = events[0]
    assert isinstance(first, RawFrame)
    assert type(first.payload) is bytes
    assert first.payload == payload
    assert decoder.buffered == 0
