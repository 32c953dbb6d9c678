"""Tests for MessageAssembler: semantic frame checks, reassembly, UTF-8, limits, deflate."""

from __future__ import annotations

import tracemalloc
import zlib

import pytest

from pytest_wsmock._protocol import (
    CloseEvent,
    DeflateParams,
    Event,
    FrameDecoder,
    MessageAssembler,
    MessageEvent,
    Opcode,
    PerMessageDeflate,
    PingEvent,
    PongEvent,
    RawFrame,
    Violation,
    encode_frame,
)

KEY = b"\x01\x02\x03\x04"
MiB = 1 << 20


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    masked: bool = True,
) -> RawFrame:
    """Build a RawFrame by encoding and decoding it, as a server would receive it."""
    wire = encode_frame(
        opcode,
        payload,
        fin=fin,
        rsv1=rsv1,
        rsv2=rsv2,
        rsv3=rsv3,
        mask_key=KEY if masked else None,
    )
    (decoded,) = FrameDecoder().feed(wire)
    assert isinstance(decoded, RawFrame)
    return decoded


def feed(assembler: MessageAssembler, *frames: RawFrame) -> list[Event]:
    return [event for raw in frames for event in assembler.receive(raw)]


def only_violation(events: list[Event]) -> Violation:
    assert len(events) == 1
    violation = events[-1]
    assert isinstance(violation, Violation)
    return violation


def client_compress(data: bytes) -> bytes:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


# -- messages -----------------------------------------------------------------------------


def test_single_frame_messages() -> None:
    """One text or binary frame is one message."""
    assembler = MessageAssembler()
    events = feed(assembler, frame(1, b"hi \xc3\xa9"), frame(2, b"\x00\xff"))
    assert events == [
        MessageEvent(Opcode.TEXT, b"hi \xc3\xa9", False, 1),
        MessageEvent(Opcode.BINARY, b"\x00\xff", False, 1),
    ]
    message = events[0]
    assert isinstance(message, MessageEvent)
    assert message.text == "hi \xe9"


def test_single_frame_fast_path_does_not_copy() -> None:
    """The message of a single uncompressed frame is the frame's payload object."""
    raw = frame(2, b"payload")
    (event,) = MessageAssembler().receive(raw)
    assert isinstance(event, MessageEvent)
    assert event.data is raw.payload


def test_fragmented_message_with_interleaved_control_frames() -> None:
    """Control frames between fragments come out at once; the message continues."""
    assembler = MessageAssembler()
    assert assembler.receive(frame(1, b"Hel", fin=False)) == []
    assert assembler.in_message
    assert assembler.receive(frame(9, b"p1")) == [PingEvent(b"p1")]
    assert assembler.receive(frame(0, b"", fin=False)) == []
    assert assembler.receive(frame(10, b"p2")) == [PongEvent(b"p2")]
    assert assembler.receive(frame(0, b"lo")) == [MessageEvent(Opcode.TEXT, b"Hello", False, 3)]
    assert not assembler.in_message


def test_message_event_repr() -> None:
    """The message repr is short: opcode, size, preview, flags."""
    event = MessageEvent(Opcode.BINARY, b"x" * 100, False, 2)
    assert repr(event) == (
        f"MessageEvent(BINARY, 100 bytes, b'{'x' * 32}'..., compressed=False, frames=2)"
    )


def test_close_events() -> None:
    """Close frames give the code, reason and raw payload."""
    assert MessageAssembler().receive(frame(8)) == [CloseEvent(None, "", b"")]
    assert MessageAssembler().receive(frame(8, b"\x03\xe8bye")) == [
        CloseEvent(1000, "bye", b"\x03\xe8bye")
    ]


@pytest.mark.parametrize(
    ("payload", "code", "reason", "kind", "close_code"),
    [
        pytest.param(b"\x00\x00", 0, "", "invalid-close-code", 1002, id="code-0"),
        pytest.param(b"\x03\xe7", 999, "", "invalid-close-code", 1002, id="code-999"),
        pytest.param(b"\x03\xecx", 1004, "x", "invalid-close-code", 1002, id="code-1004"),
        pytest.param(b"\x03\xed", 1005, "", "invalid-close-code", 1002, id="code-1005"),
        pytest.param(b"\x03\xee", 1006, "", "invalid-close-code", 1002, id="code-1006"),
        pytest.param(b"\x03\xf7", 1015, "", "invalid-close-code", 1002, id="code-1015"),
        pytest.param(b"\x13\x88", 5000, "", "invalid-close-code", 1002, id="code-5000"),
        pytest.param(b"\x03", None, "", "close-payload-too-short", 1002, id="one-byte"),
        pytest.param(
            b"\x03\xe8a\xffb", 1000, "a\ufffdb", "invalid-close-reason", 1007, id="bad-utf8"
        ),
    ],
)
def test_invalid_close_frame_still_gives_a_close_event(
    payload: bytes, code: int | None, reason: str, kind: str, close_code: int
) -> None:
    """An invalid close payload gives its Violation, then a CloseEvent (valid=False, raw code)."""
    assembler = MessageAssembler()
    events = assembler.receive(frame(8, payload))
    assert events[1] == CloseEvent(code, reason, payload, valid=False)
    violation = events[0]
    assert isinstance(violation, Violation)
    assert (violation.kind, violation.close_code) == (kind, close_code)
    assert len(events) == 2
    assert assembler.failed


def test_valid_close_event_is_valid() -> None:
    """A legal close payload gives a CloseEvent with valid=True and nothing else."""
    (event,) = MessageAssembler().receive(frame(8, b"\x0f\xa0ok"))
    assert event == CloseEvent(4000, "ok", b"\x0f\xa0ok")
    assert isinstance(event, CloseEvent)
    assert event.valid


def test_require_masked_modes() -> None:
    """Masking is required, forbidden, or not checked."""
    assert isinstance(
        MessageAssembler(require_masked=False).receive(frame(2, masked=False))[0], MessageEvent
    )
    assert isinstance(
        MessageAssembler(require_masked=None).receive(frame(2, masked=False))[0], MessageEvent
    )
    assert isinstance(
        MessageAssembler(require_masked=None).receive(frame(2, masked=True))[0], MessageEvent
    )


# -- violations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "frames", "kind", "close_code"),
    [
        pytest.param({}, [frame(2, masked=False)], "unmasked-frame", 1002, id="unmasked"),
        pytest.param({"require_masked": False}, [frame(2)], "masked-frame", 1002, id="masked"),
        pytest.param({}, [frame(3)], "reserved-opcode", 1002, id="opcode-3"),
        pytest.param({}, [frame(7)], "reserved-opcode", 1002, id="opcode-7"),
        pytest.param({}, [frame(11)], "reserved-opcode", 1002, id="opcode-11"),
        pytest.param({}, [frame(15)], "reserved-opcode", 1002, id="opcode-15"),
        pytest.param({}, [frame(1, rsv1=True)], "reserved-bits", 1002, id="rsv1-no-deflate"),
        pytest.param({}, [frame(1, rsv2=True)], "reserved-bits", 1002, id="rsv2"),
        pytest.param({}, [frame(9, rsv3=True)], "reserved-bits", 1002, id="rsv3"),
        pytest.param(
            {"deflate": PerMessageDeflate(DeflateParams())},
            [frame(9, rsv1=True)],
            "reserved-bits",
            1002,
            id="rsv1-on-control",
        ),
        pytest.param(
            {"deflate": PerMessageDeflate(DeflateParams())},
            [frame(1, client_compress(b"a"), fin=False, rsv1=True), frame(0, rsv1=True)],
            "reserved-bits",
            1002,
            id="rsv1-on-continuation",
        ),
        pytest.param({}, [frame(9, bytes(126))], "control-frame-too-large", 1002, id="ping-126"),
        pytest.param({}, [frame(8, bytes(126))], "control-frame-too-large", 1002, id="close-126"),
        pytest.param({}, [frame(10, fin=False)], "fragmented-control-frame", 1002, id="frag-pong"),
        pytest.param({}, [frame(0, b"x")], "unexpected-continuation", 1002, id="continuation"),
        pytest.param(
            {},
            [frame(1, b"a", fin=False), frame(2, b"b")],
            "interleaved-data-frame",
            1002,
            id="interleaved",
        ),
        pytest.param({}, [frame(1, b"\xff")], "invalid-utf8", 1007, id="utf8"),
        pytest.param({}, [frame(8, b"\x03")], "close-payload-too-short", 1002, id="close-1-byte"),
        pytest.param({}, [frame(8, b"\x03\xee")], "invalid-close-code", 1002, id="close-1006"),
        pytest.param(
            {}, [frame(8, b"\x03\xe8\xff")], "invalid-close-reason", 1007, id="close-reason"
        ),
        pytest.param(
            {"max_message_size": 3}, [frame(2, b"abcd")], "message-too-big", 1009, id="too-big"
        ),
        pytest.param(
            {"deflate": PerMessageDeflate(DeflateParams())},
            [frame(2, b"\xff\xff\xff", rsv1=True)],
            "invalid-compressed-data",
            1007,
            id="bad-deflate",
        ),
    ],
)
def test_violations(
    options: dict[str, object], frames: list[RawFrame], kind: str, close_code: int
) -> None:
    """Each rule of RFC 6455 sections 5.1-5.8 gives its violation and close code, then fails."""
    assembler = MessageAssembler(**options)  # type: ignore[arg-type]
    events = feed(assembler, *frames)
    # An invalid close frame also gives its CloseEvent, after the violation.
    violation = next(event for event in reversed(events) if isinstance(event, Violation))
    assert (violation.kind, violation.close_code, violation.fatal) == (kind, close_code, True)
    assert violation.rfc.startswith("RFC ")
    assert assembler.failed
    assert not assembler.in_message
    assert assembler.receive(frame(1, b"after")) == []


def test_control_frame_of_125_bytes_is_fine() -> None:
    """125 bytes is the largest legal control payload."""
    assert MessageAssembler().receive(frame(9, bytes(125))) == [PingEvent(bytes(125))]


# -- UTF-8 --------------------------------------------------------------------------------


def test_invalid_utf8_reported_on_the_first_fragment() -> None:
    """An invalid byte in the first fragment is reported then, before the message ends."""
    assembler = MessageAssembler()
    violation = only_violation(assembler.receive(frame(1, b"ok\xff", fin=False)))
    assert violation.kind == "invalid-utf8"


def test_invalid_utf8_reported_on_a_middle_fragment() -> None:
    """An invalid byte in a later fragment is reported on that fragment."""
    assembler = MessageAssembler()
    assert assembler.receive(frame(1, b"fine", fin=False)) == []
    assert only_violation(assembler.receive(frame(0, b"\xc0", fin=False))).kind == "invalid-utf8"


def test_character_split_across_fragments_is_fine() -> None:
    """A multi-byte character split over three fragments reassembles."""
    snowman = "\u2603".encode()
    events = feed(
        MessageAssembler(),
        frame(1, snowman[:1], fin=False),
        frame(0, snowman[1:2], fin=False),
        frame(0, snowman[2:]),
    )
    assert events == [MessageEvent(Opcode.TEXT, snowman, False, 3)]


def test_truncated_character_at_the_end_is_invalid() -> None:
    """A text message ending inside a character is invalid on its last fragment."""
    assembler = MessageAssembler()
    assert assembler.receive(frame(1, b"\xe2\x98", fin=False)) == []
    assert only_violation(assembler.receive(frame(0, b""))).kind == "invalid-utf8"


def test_binary_messages_are_not_utf8_checked() -> None:
    """Binary data may be anything."""
    events = feed(MessageAssembler(), frame(2, b"\xff", fin=False), frame(0, b"\xfe"))
    assert events == [MessageEvent(Opcode.BINARY, b"\xff\xfe", False, 2)]


def test_state_resets_between_messages() -> None:
    """A pending partial character does not leak into the next message."""
    assembler = MessageAssembler()
    feed(assembler, frame(1, b"a", fin=False), frame(0, b"b"))
    assert feed(assembler, frame(1, b"c")) == [MessageEvent(Opcode.TEXT, b"c", False, 1)]


# -- size limits --------------------------------------------------------------------------


def test_max_message_size_checked_before_appending() -> None:
    """The fragment that would exceed the limit is refused; the limit itself is fine."""
    assembler = MessageAssembler(max_message_size=10)
    assert assembler.receive(frame(2, b"12345", fin=False)) == []
    assert assembler.receive(frame(0, b"12345", fin=False)) == []
    violation = only_violation(assembler.receive(frame(0, b"1")))
    assert (violation.kind, violation.close_code) == ("message-too-big", 1009)
    assert "11 bytes" in violation.detail


def test_max_message_size_exact_limit() -> None:
    """A message of exactly max_message_size bytes is delivered."""
    events = feed(MessageAssembler(max_message_size=4), frame(2, b"ab", fin=False), frame(0, b"cd"))
    assert events == [MessageEvent(Opcode.BINARY, b"abcd", False, 2)]


def test_decompression_bomb_is_bounded() -> None:
    """100 MiB compressed into a small payload gives message-too-big without inflating it all."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(MiB)
    parts = [compressor.compress(chunk) for _ in range(100)]
    bomb = (b"".join(parts) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    del parts, chunk
    assert len(bomb) < 200_000
    raw = frame(2, bomb, rsv1=True)
    assembler = MessageAssembler(max_message_size=MiB, deflate=PerMessageDeflate(DeflateParams()))
    tracemalloc.start()
    try:
        events = assembler.receive(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    violation = only_violation(events)
    assert (violation.kind, violation.close_code) == ("message-too-big", 1009)
    assert peak < 8 * MiB


def test_compressed_size_limit_counts_earlier_fragments() -> None:
    """The decompression budget of a fragment is what earlier fragments left."""
    data = client_compress(b"x" * 100)
    assembler = MessageAssembler(max_message_size=150, deflate=PerMessageDeflate(DeflateParams()))
    half = len(data) // 2
    events = feed(assembler, frame(2, data[:half], fin=False, rsv1=True), frame(0, data[half:]))
    assert events == [MessageEvent(Opcode.BINARY, b"x" * 100, True, 2)]
    assembler = MessageAssembler(max_message_size=99, deflate=PerMessageDeflate(DeflateParams()))
    assert only_violation(assembler.receive(frame(2, data, rsv1=True))).kind == "message-too-big"


# -- compression --------------------------------------------------------------------------


def test_compressed_messages() -> None:
    """RSV1 messages are inflated; uncompressed ones pass through when deflate is on."""
    assembler = MessageAssembler(deflate=PerMessageDeflate(DeflateParams()))
    events = feed(
        assembler,
        frame(1, client_compress("caf\xe9".encode()), rsv1=True),
        frame(2, b"plain"),
    )
    assert events == [
        MessageEvent(Opcode.TEXT, "caf\xe9".encode(), True, 1),
        MessageEvent(Opcode.BINARY, b"plain", False, 1),
    ]


def test_invalid_utf8_after_decompression() -> None:
    """UTF-8 is checked on the inflated data."""
    assembler = MessageAssembler(deflate=PerMessageDeflate(DeflateParams()))
    violation = only_violation(assembler.receive(frame(1, client_compress(b"\xff"), rsv1=True)))
    assert (violation.kind, violation.close_code) == ("invalid-utf8", 1007)


def final_block(data: bytes) -> bytes:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH)


@pytest.mark.parametrize(
    "frames",
    [
        pytest.param(
            [
                frame(1, final_block(b"first"), fin=False, rsv1=True),
                frame(0, client_compress(b"x")),
            ],
            id="in-a-continuation",
        ),
        pytest.param([frame(1, final_block(b"first") + b"garbage", rsv1=True)], id="same-frame"),
    ],
)
def test_data_after_the_final_deflate_block_fails_the_message(frames: list[RawFrame]) -> None:
    """Compressed data after a BFINAL block is a 1007 deflate-trailing-data violation."""
    assembler = MessageAssembler(deflate=PerMessageDeflate(DeflateParams()))
    events = feed(assembler, *frames)
    assert not any(isinstance(event, MessageEvent) for event in events)
    violation = only_violation(events)
    assert (violation.kind, violation.close_code) == ("deflate-trailing-data", 1007)
    assert violation.rfc == "RFC 7692 section 7.2.2"
    assert assembler.failed
