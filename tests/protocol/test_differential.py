"""Differential tests: our frames and deflate against websockets' and wsproto's sans-IO code."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pytest
from websockets.extensions.base import Extension as WsExtension
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Close as WsClose
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode as WsOpcode
from websockets.streams import StreamReader
from wsproto.extensions import PerMessageDeflate as WsprotoDeflate
from wsproto.frame_protocol import Frame as WsprotoFrame
from wsproto.frame_protocol import FrameProtocol
from wsproto.frame_protocol import Opcode as WsprotoOpcode

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
    encode_frame,
    negotiate_deflate,
    parse_extensions,
)

KEY = b"\xa1\xb2\xc3\xd4"
MiB = 1 << 20
DATA_LENGTHS = [0, 1, 125, 126, 65535, 65536, MiB]
CONTROL_LENGTHS = [0, 1, 125]

# Server-side deflate settings exercised against both libraries.
DEFLATE_SETTINGS: list[dict[str, Any]] = [
    {},
    {"server_no_context_takeover": True},
    {"client_no_context_takeover": True},
    {"server_no_context_takeover": True, "client_no_context_takeover": True},
    {"server_max_window_bits": 10, "client_max_window_bits": 11},
]
DEFLATE_IDS = ["takeover", "server-no-takeover", "client-no-takeover", "no-takeover", "windows"]

MESSAGES: list[str | bytes] = [
    "hello",
    "hello",
    "caf\xe9 \u2603 \U0001f600" * 20,
    b"",
    os.urandom(3000),
    "repeat " * 10_000,
    "repeat " * 10_000,
    b"\x00" * 70_000,
]


def ws_parse(
    data: bytes, *, mask: bool, extensions: Sequence[WsExtension] | None = None
) -> list[WsFrame]:
    """Parse every frame in ``data`` with websockets' generator-based parser."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames: list[WsFrame] = []
    while reader.buffer:
        parser = WsFrame.parse(reader.read_exact, mask=mask, extensions=extensions)
        try:
            next(parser)
        except StopIteration as stop:
            frames.append(stop.value)
        else:
            raise AssertionError("websockets' parser asked for more bytes")
    return frames


def wsproto_frames(
    data: bytes, *, client: bool, extensions: list[Any] | None = None
) -> list[WsprotoFrame]:
    protocol = FrameProtocol(client=client, extensions=extensions or [])
    protocol.receive_bytes(data)
    return list(protocol.received_frames())


def our_events(
    data: bytes, *, require_masked: bool, deflate: PerMessageDeflate | None = None
) -> list[Event]:
    """Decode and assemble ``data`` with our code; frame-level violations are kept too."""
    assembler = MessageAssembler(require_masked=require_masked, deflate=deflate)
    events: list[Event] = []
    for item in FrameDecoder().feed(data):
        events.extend(assembler.receive(item) if isinstance(item, RawFrame) else [item])
    return events


def as_bytes(message: str | bytes) -> bytes:
    return message.encode() if isinstance(message, str) else message


def expected_events(messages: Sequence[str | bytes], compressed: bool) -> list[Event]:
    return [
        MessageEvent(
            Opcode.TEXT if isinstance(message, str) else Opcode.BINARY,
            as_bytes(message),
            compressed,
            1,
        )
        for message in messages
    ]


# -- our frames, their decoders -----------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True], ids=["server", "client"])
@pytest.mark.parametrize(
    ("opcode", "length"),
    [(op, n) for op in (0, 1, 2) for n in DATA_LENGTHS]
    + [(op, n) for op in (8, 9, 10) for n in CONTROL_LENGTHS],
)
def test_websockets_parses_our_frames(opcode: int, length: int, masked: bool) -> None:
    """websockets reads our frames with the same opcode, FIN, RSV bits and payload."""
    payload = os.urandom(length)
    for fin in [True] if opcode >= 8 else [True, False]:
        wire = encode_frame(opcode, payload, fin=fin, mask_key=KEY if masked else None)
        (parsed,) = ws_parse(wire, mask=masked)
        assert (parsed.opcode, parsed.fin, parsed.rsv1, parsed.rsv2, parsed.rsv3) == (
            opcode,
            fin,
            False,
            False,
            False,
        )
        assert parsed.data == payload


@pytest.mark.parametrize("masked", [False, True], ids=["server", "client"])
def test_websockets_parses_our_rsv_bits(masked: bool) -> None:
    """websockets sees the RSV bits we set (and rejects them without an extension)."""
    for rsv1, rsv2, rsv3 in [(True, False, False), (False, True, False), (False, False, True)]:
        wire = encode_frame(
            2, b"x", rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, mask_key=KEY if masked else None
        )
        reader = StreamReader()
        reader.feed_data(wire)
        parser = WsFrame.parse(reader.read_exact, mask=masked)
        with pytest.raises(Exception, match="reserved bit"):
            next(parser)


@pytest.mark.parametrize("masked", [False, True], ids=["server", "client"])
@pytest.mark.parametrize("length", DATA_LENGTHS)
def test_wsproto_parses_our_data_frames(length: int, masked: bool) -> None:
    """wsproto reads our text and binary frames as the same messages."""
    binary = os.urandom(length)
    text = "a" * length
    wire = encode_frame(2, binary, mask_key=KEY if masked else None) + encode_frame(
        1, text.encode(), mask_key=KEY if masked else None
    )
    frames = wsproto_frames(wire, client=not masked)
    assert [(f.opcode, f.payload, f.frame_finished, f.message_finished) for f in frames] == [
        (WsprotoOpcode.BINARY, binary, True, True),
        (WsprotoOpcode.TEXT, text, True, True),
    ]


@pytest.mark.parametrize("masked", [False, True], ids=["server", "client"])
def test_wsproto_parses_our_fragments_and_control_frames(masked: bool) -> None:
    """wsproto reassembles our fragmented text with a ping and pong between, then a close."""
    key = KEY if masked else None
    snowman = "\u2603".encode()
    wire = b"".join(
        [
            encode_frame(1, b"Hel" + snowman[:1], fin=False, mask_key=key),
            encode_frame(9, b"ping!", mask_key=key),
            encode_frame(0, snowman[1:], fin=False, mask_key=key),
            encode_frame(10, b"", mask_key=key),
            encode_frame(0, b"lo", mask_key=key),
            encode_frame(8, b"\x03\xe9going", mask_key=key),
        ]
    )
    frames = wsproto_frames(wire, client=not masked)
    assert [(f.opcode, f.payload, f.message_finished) for f in frames] == [
        (WsprotoOpcode.TEXT, "Hel", False),
        (WsprotoOpcode.PING, b"ping!", True),
        (WsprotoOpcode.TEXT, "\u2603", False),
        (WsprotoOpcode.PONG, b"", True),
        (WsprotoOpcode.TEXT, "lo", True),
        (WsprotoOpcode.CLOSE, (1001, "going"), True),
    ]


# -- their frames, our decoder ------------------------------------------------------------


@pytest.mark.parametrize("mask", [False, True], ids=["server", "client"])
@pytest.mark.parametrize("length", DATA_LENGTHS)
def test_we_parse_websockets_frames(length: int, mask: bool) -> None:
    """Frames serialized by websockets decode to the same messages and control frames."""
    binary = os.urandom(length)
    wire = b"".join(
        [
            WsFrame(WsOpcode.BINARY, binary).serialize(mask=mask),
            WsFrame(WsOpcode.TEXT, b"Hel", fin=False).serialize(mask=mask),
            WsFrame(WsOpcode.PING, b"p").serialize(mask=mask),
            WsFrame(WsOpcode.CONT, b"lo").serialize(mask=mask),
            WsFrame(WsOpcode.PONG, b"").serialize(mask=mask),
            WsFrame(WsOpcode.CLOSE, WsClose(1000, "bye").serialize()).serialize(mask=mask),
        ]
    )
    assert our_events(wire, require_masked=mask) == [
        MessageEvent(Opcode.BINARY, binary, False, 1),
        PingEvent(b"p"),
        MessageEvent(Opcode.TEXT, b"Hello", False, 2),
        PongEvent(b""),
        CloseEvent(1000, "bye", b"\x03\xe8bye"),
    ]


def test_we_parse_websockets_frames_with_every_opcode() -> None:
    """Each websockets opcode and FIN value comes out as the same raw frame."""
    for opcode in WsOpcode:
        for fin in [True] if opcode.value >= 8 else [True, False]:
            wire = WsFrame(opcode, b"\x03\xe8", fin=fin).serialize(mask=True)
            (raw,) = FrameDecoder().feed(wire)
            assert isinstance(raw, RawFrame)
            assert (raw.opcode, raw.fin, raw.masked, raw.payload) == (
                opcode,
                fin,
                True,
                b"\x03\xe8",
            )


def test_we_parse_wsproto_client_frames() -> None:
    """Fragmented messages, pings and a close sent by wsproto's client decode identically."""
    protocol = FrameProtocol(client=True, extensions=[])
    wire = b"".join(
        [
            protocol.send_data("caf", fin=False),
            protocol.ping(b"are you there"),
            protocol.send_data("\xe9!", fin=True),
            protocol.send_data(b"\x00" * 70000),
            protocol.pong(b"yes"),
            protocol.close(1000, "bye"),
        ]
    )
    assert our_events(wire, require_masked=True) == [
        PingEvent(b"are you there"),
        MessageEvent(Opcode.TEXT, "caf\xe9!".encode(), False, 2),
        MessageEvent(Opcode.BINARY, b"\x00" * 70000, False, 1),
        PongEvent(b"yes"),
        CloseEvent(1000, "bye", b"\x03\xe8bye"),
    ]


def test_we_parse_wsproto_server_frames() -> None:
    """Unmasked frames from wsproto's server side decode with require_masked=False."""
    protocol = FrameProtocol(client=False, extensions=[])
    wire = bytes(protocol.send_data(b"abc") + protocol.close())
    assert our_events(wire, require_masked=False) == [
        MessageEvent(Opcode.BINARY, b"abc", False, 1),
        CloseEvent(None, "", b""),
    ]


# -- deflate: negotiation glue ------------------------------------------------------------


def negotiate_with_websockets(
    settings: dict[str, Any],
) -> tuple[DeflateParams, WsExtension]:
    """Run websockets' client offer through our negotiation; return both sides' state."""
    factory = ClientPerMessageDeflateFactory(
        client_no_context_takeover=settings.get("client_no_context_takeover", False)
    )
    offer_value = "; ".join(
        ["permessage-deflate"]
        + [
            name if value is None else f"{name}={value}"
            for name, value in factory.get_request_params()
        ]
    )
    params = negotiate_deflate(parse_extensions([offer_value]), **settings)
    assert params is not None
    (response,) = parse_extensions([params.header_value()])
    return params, factory.process_response_params(list(response.params), [])


def negotiate_with_wsproto(settings: dict[str, Any]) -> tuple[DeflateParams, WsprotoDeflate]:
    """Run wsproto's client offer through our negotiation; return both sides' state."""
    extension = WsprotoDeflate()
    offer = extension.offer()
    assert isinstance(offer, str)
    params = negotiate_deflate(parse_extensions([f"permessage-deflate; {offer}"]), **settings)
    assert params is not None
    extension.finalize(params.header_value())
    return params, extension


def compressed_frames(deflate: PerMessageDeflate, message: str | bytes, pieces: int) -> bytes:
    """Our compressed message, split into ``pieces`` frames (RSV1 on the first only)."""
    opcode = 1 if isinstance(message, str) else 2
    data = deflate.compress(as_bytes(message))
    step = max(1, len(data) // pieces)
    cuts = [data[i : i + step] for i in range(0, len(data), step)][:pieces] or [b""]
    cuts[-1] = data[step * (len(cuts) - 1) :]
    return b"".join(
        encode_frame(
            opcode if index == 0 else 0,
            cut,
            fin=index == len(cuts) - 1,
            rsv1=index == 0,
        )
        for index, cut in enumerate(cuts)
    )


# -- deflate: their compression, our decompression ----------------------------------------


@pytest.mark.parametrize("settings", DEFLATE_SETTINGS, ids=DEFLATE_IDS)
def test_we_inflate_websockets_messages(settings: dict[str, Any]) -> None:
    """Messages compressed by websockets (some fragmented) inflate identically."""
    params, extension = negotiate_with_websockets(settings)
    wire = bytearray()
    for index, message in enumerate(MESSAGES):
        opcode = WsOpcode.TEXT if isinstance(message, str) else WsOpcode.BINARY
        data = as_bytes(message)
        if index % 2:
            half = len(data) // 2
            wire += WsFrame(opcode, data[:half], fin=False).serialize(
                mask=True, extensions=[extension]
            )
            wire += WsFrame(WsOpcode.PING, b"between").serialize(mask=True, extensions=[extension])
            wire += WsFrame(WsOpcode.CONT, data[half:]).serialize(mask=True, extensions=[extension])
        else:
            wire += WsFrame(opcode, data).serialize(mask=True, extensions=[extension])
    events = our_events(bytes(wire), require_masked=True, deflate=PerMessageDeflate(params))
    messages = [event for event in events if isinstance(event, MessageEvent)]
    assert [(m.opcode, m.data, m.compressed) for m in messages] == [
        (e.opcode, e.data, True)
        for e in expected_events(MESSAGES, True)
        if isinstance(e, MessageEvent)
    ]
    assert events.count(PingEvent(b"between")) == len(MESSAGES) // 2


@pytest.mark.parametrize("settings", DEFLATE_SETTINGS, ids=DEFLATE_IDS)
def test_we_inflate_wsproto_messages(settings: dict[str, Any]) -> None:
    """Messages compressed by wsproto's PerMessageDeflate (some fragmented) inflate identically."""
    params, extension = negotiate_with_wsproto(settings)
    protocol = FrameProtocol(client=True, extensions=[extension])
    wire = bytearray()
    for index, message in enumerate(MESSAGES):
        if index % 2:
            half = len(message) // 2
            wire += protocol.send_data(message[:half], fin=False)
            wire += protocol.ping(b"between")
            wire += protocol.send_data(message[half:], fin=True)
        else:
            wire += protocol.send_data(message)
    wire += protocol.close(1000)
    events = our_events(bytes(wire), require_masked=True, deflate=PerMessageDeflate(params))
    messages = [event for event in events if isinstance(event, MessageEvent)]
    assert [(m.opcode, m.data) for m in messages] == [
        (e.opcode, e.data) for e in expected_events(MESSAGES, True) if isinstance(e, MessageEvent)
    ]
    assert all(m.compressed for m in messages)
    assert events[-1] == CloseEvent(1000, "", b"\x03\xe8")


# -- deflate: our compression, their decompression ----------------------------------------


@pytest.mark.parametrize("pieces", [1, 3], ids=["whole", "fragmented"])
@pytest.mark.parametrize("settings", DEFLATE_SETTINGS, ids=DEFLATE_IDS)
def test_websockets_inflates_our_messages(settings: dict[str, Any], pieces: int) -> None:
    """websockets' client decompresses a run of our compressed server messages."""
    params, extension = negotiate_with_websockets(settings)
    deflate = PerMessageDeflate(params)
    wire = b"".join(compressed_frames(deflate, message, pieces) for message in MESSAGES)
    frames = ws_parse(wire, mask=False, extensions=[extension])
    received: list[bytes] = []
    current = bytearray()
    for parsed in frames:
        current += parsed.data
        if parsed.fin:
            received.append(bytes(current))
            current.clear()
    assert received == [as_bytes(message) for message in MESSAGES]


@pytest.mark.parametrize("pieces", [1, 3], ids=["whole", "fragmented"])
@pytest.mark.parametrize("settings", DEFLATE_SETTINGS, ids=DEFLATE_IDS)
def test_wsproto_inflates_our_messages(settings: dict[str, Any], pieces: int) -> None:
    """wsproto's client decompresses a run of our compressed server messages."""
    params, extension = negotiate_with_wsproto(settings)
    deflate = PerMessageDeflate(params)
    wire = b"".join(compressed_frames(deflate, message, pieces) for message in MESSAGES)
    frames = wsproto_frames(wire, client=True, extensions=[extension])
    received: list[str | bytes] = []
    current: list[Any] = []
    for parsed in frames:
        current.append(parsed.payload)
        if parsed.message_finished:
            received.append("".join(current) if isinstance(current[0], str) else b"".join(current))
            current = []
    assert received == MESSAGES


def test_negotiated_response_is_accepted_by_both_clients() -> None:
    """Our negotiation answers are accepted by both clients' response checks."""
    for settings in DEFLATE_SETTINGS:
        params, extension = negotiate_with_websockets(settings)
        assert extension.name == "permessage-deflate"
        _, wsproto_extension = negotiate_with_wsproto(settings)
        assert wsproto_extension.enabled()
        assert params.server_no_context_takeover == settings.get(
            "server_no_context_takeover", False
        )


def test_both_no_context_takeover_offers_are_echoed_and_used() -> None:
    """Both clients' offer of both no_context_takeover flags is answered with both, and works."""
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True
    )
    offer = "; ".join(
        ["permessage-deflate"]
        + [
            name if value is None else f"{name}={value}"
            for name, value in factory.get_request_params()
        ]
    )
    params = negotiate_deflate(parse_extensions([offer]))
    assert params is not None
    assert params.header_value() == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    )
    (response,) = parse_extensions([params.header_value()])
    extension = factory.process_response_params(list(response.params), [])
    wire = b"".join(
        WsFrame(WsOpcode.BINARY, as_bytes(message)).serialize(mask=True, extensions=[extension])
        for message in MESSAGES
    )
    events = our_events(wire, require_masked=True, deflate=PerMessageDeflate(params))
    assert [e.data for e in events if isinstance(e, MessageEvent)] == [
        as_bytes(message) for message in MESSAGES
    ]
    wsproto_extension = WsprotoDeflate(
        client_no_context_takeover=True, server_no_context_takeover=True
    )
    wsproto_offer = wsproto_extension.offer()
    assert isinstance(wsproto_offer, str)
    wsproto_params = negotiate_deflate(parse_extensions([f"permessage-deflate; {wsproto_offer}"]))
    assert wsproto_params is not None  # wsproto also offers its window bits
    assert wsproto_params.server_no_context_takeover
    assert wsproto_params.client_no_context_takeover
    wsproto_extension.finalize(wsproto_params.header_value())
    assert wsproto_extension.enabled()
