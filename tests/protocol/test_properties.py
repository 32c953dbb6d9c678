"""Hypothesis property tests for framing, masking and message reassembly."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_wsmock._protocol import (
    CloseEvent,
    Event,
    FrameDecoder,
    MessageAssembler,
    MessageEvent,
    Opcode,
    PingEvent,
    RawFrame,
    Violation,
    apply_mask,
    encode_frame,
    parse_close_payload,
)

MODEST = settings(max_examples=150, deadline=None)

mask_keys = st.none() | st.binary(min_size=4, max_size=4)
# Mostly small payloads, sometimes across the 126 and 65536 length-form boundaries.
payloads = st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=65530, max_value=65540).map(bytes),
)


@st.composite
def frames(draw: st.DrawFn) -> dict[str, object]:
    return {
        "opcode": draw(st.integers(min_value=0, max_value=15)),
        "payload": draw(payloads),
        "fin": draw(st.booleans()),
        "rsv1": draw(st.booleans()),
        "rsv2": draw(st.booleans()),
        "rsv3": draw(st.booleans()),
        "mask_key": draw(mask_keys),
    }


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    bounds = [0, *points, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


def naive_mask(data: bytes, key: bytes) -> bytes:
    return bytes(byte ^ key[index % 4] for index, byte in enumerate(data))


@MODEST
@given(specs=st.lists(frames(), min_size=1, max_size=5), cuts=st.lists(st.integers(0, 10**6)))
def test_round_trip_with_arbitrary_chunking(
    specs: list[dict[str, object]], cuts: list[int]
) -> None:
    """Any frames, encoded then fed in any chunking, decode to the same fields."""
    wire = b"".join(encode_frame(**spec) for spec in specs)  # type: ignore[arg-type]
    decoder = FrameDecoder()
    decoded: list[RawFrame | Violation] = []
    for chunk in split(wire, cuts):
        decoded.extend(decoder.feed(chunk))
    assert decoder.buffered == 0
    assert len(decoded) == len(specs)
    for frame, spec in zip(decoded, specs, strict=True):
        assert isinstance(frame, RawFrame)
        assert frame.opcode == spec["opcode"]
        assert frame.payload == spec["payload"]
        assert (frame.fin, frame.rsv1, frame.rsv2, frame.rsv3) == (
            spec["fin"],
            spec["rsv1"],
            spec["rsv2"],
            spec["rsv3"],
        )
        assert frame.mask_key == spec["mask_key"]
        assert frame.masked is (spec["mask_key"] is not None)
    assert b"".join(f.header + f.wire_payload for f in decoded if isinstance(f, RawFrame)) == wire


@st.composite
def fragmented_messages(draw: st.DrawFn) -> tuple[Opcode, bytes, list[bytes], list[list[bytes]]]:
    """A message, its fragments (text may be cut inside characters) and pings between them."""
    if draw(st.booleans()):
        opcode, data = Opcode.TEXT, draw(st.text(max_size=200)).encode()
    else:
        opcode, data = Opcode.BINARY, draw(st.binary(max_size=200))
    pieces = split(data, draw(st.lists(st.integers(0, 10**6), max_size=6)))
    pings = [draw(st.lists(st.binary(max_size=125), max_size=2)) for _ in range(len(pieces) + 1)]
    return opcode, data, pieces, pings


@MODEST
@given(case=fragmented_messages(), key=st.binary(min_size=4, max_size=4))
def test_assembler_reassembles_any_fragmentation(
    case: tuple[Opcode, bytes, list[bytes], list[list[bytes]]], key: bytes
) -> None:
    """Any fragmentation of any text or binary message, pings interleaved, reassembles exactly."""
    opcode, data, pieces, pings = case
    wire = bytearray()
    expected: list[Event] = []
    for index, piece in enumerate(pieces):
        for ping in pings[index] if index else []:
            wire += encode_frame(Opcode.PING, ping, mask_key=key)
            expected.append(PingEvent(ping))
        wire += encode_frame(
            opcode if index == 0 else Opcode.CONTINUATION,
            piece,
            fin=index == len(pieces) - 1,
            mask_key=key,
        )
    expected.append(MessageEvent(opcode, data, False, len(pieces)))
    for ping in pings[-1]:
        wire += encode_frame(Opcode.PING, ping, mask_key=key)
        expected.append(PingEvent(ping))
    assembler = MessageAssembler()
    events: list[Event] = []
    for frame in FrameDecoder().feed(bytes(wire)):
        assert isinstance(frame, RawFrame)
        events.extend(assembler.receive(frame))
    assert events == expected
    assert not assembler.in_message


@MODEST
@given(data=st.binary(max_size=10_000), key=st.binary(min_size=4, max_size=4))
def test_apply_mask_is_an_involution_equal_to_the_naive_loop(data: bytes, key: bytes) -> None:
    """Masking twice gives the input back, and masking equals a per-byte XOR loop."""
    masked = apply_mask(data, key)
    assert masked == naive_mask(data, key)
    assert apply_mask(masked, key) == data


@settings(max_examples=50, deadline=None)
@given(size=st.integers(4000, 20_000), key=st.binary(min_size=4, max_size=4))
def test_apply_mask_large_inputs(size: int, key: bytes) -> None:
    """Inputs around and above the strided-translate threshold match the naive loop."""
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert apply_mask(data, key) == naive_mask(data, key)


@MODEST
@given(
    payload=st.one_of(
        st.binary(max_size=125), st.integers(0, 0xFFFF).map(lambda c: c.to_bytes(2, "big"))
    )
)
def test_every_close_frame_gives_exactly_one_close_event(payload: bytes) -> None:
    """Any close payload gives one CloseEvent with its raw payload, valid unless a Violation."""
    (raw,) = FrameDecoder().feed(encode_frame(8, payload))
    assert isinstance(raw, RawFrame)
    events = MessageAssembler(require_masked=None).receive(raw)
    close = events[-1]
    assert isinstance(close, CloseEvent)
    assert close.payload == payload
    if len(payload) >= 2:
        assert close.code == int.from_bytes(payload[:2], "big")
    violations = [event for event in events[:-1] if isinstance(event, Violation)]
    assert len(events) == 1 + len(violations)
    assert close.valid == (not violations)
    assert close.valid == (not isinstance(parse_close_payload(payload), Violation))


@MODEST
@given(spec=frames(), cut=st.integers(min_value=0, max_value=10**6))
def test_a_frame_cut_anywhere_is_described(spec: dict[str, object], cut: int) -> None:
    """A frame cut short leaves all its bytes buffered and described; a whole frame leaves none."""
    wire = encode_frame(**spec)  # type: ignore[arg-type]
    cut %= len(wire) + 1
    decoder = FrameDecoder()
    decoder.feed(wire[:cut])
    held = cut if cut < len(wire) else 0
    assert decoder.buffered == held
    description = decoder.describe_pending()
    assert (description is None) == (held == 0)
    if description is not None and cut >= 2:
        assert description.startswith(f"{cut} of ")
