"""RFC 6455 frames: opcodes and incremental decoding (encoding is in _encode, masking in _mask)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Literal

from ._mask import apply_mask
from ._violations import Violation

__all__ = [
    "FrameDecoder",
    "Opcode",
    "RawFrame",
    "looks_like_http_request",
    "opcode_name",
]

_FRAMING_RFC = "RFC 6455 section 5.2"


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 section 5.2, registry in section 11.8).

    3-7 and 11-15 are reserved: decoded frames keep them as plain ints.
    """

    #: Continues a fragmented message (section 5.4).
    CONTINUATION = 0
    #: First frame of a UTF-8 text message (section 5.6).
    TEXT = 1
    #: First frame of a binary message (section 5.6).
    BINARY = 2
    #: Starts or answers the closing handshake (section 5.5.1).
    CLOSE = 8
    #: Heartbeat request; the peer answers with a pong (section 5.5.2).
    PING = 9
    #: Heartbeat answer, or unsolicited keep-alive (section 5.5.3).
    PONG = 10

    @property
    def is_control(self) -> bool:
        """Whether this is a control opcode (section 5.5: the high bit of the opcode is set)."""
        return self.value >= 8


def opcode_name(value: int) -> str:
    """Name an opcode for humans: ``"TEXT"``, ``"RESERVED-3"`` (``"INVALID-16"`` outside 0-15)."""
    try:
        return Opcode(value).name
    except ValueError:
        return f"RESERVED-{value}" if 0 <= value <= 15 else f"INVALID-{value}"


# A request line starts with a method token and one space (RFC 9112 section 3); these
# are the methods of RFC 9110 section 9 and RFC 5789. As a frame header, each of them
# decodes as an illegal frame (a reserved opcode, RSV bits, a fragmented close), so a
# legal frame never matches.
_HTTP_REQUEST = re.compile(rb"(?:GET|POST|HEAD|PUT|OPTIONS|DELETE|PATCH|CONNECT|TRACE) ")


def looks_like_http_request(data: bytes | bytearray) -> bool:
    """Whether ``data`` starts like an HTTP request line (``b"GET "``, ``b"POST "``...).

    Used on the bytes where a frame should start: a client that sends an HTTP
    request on an upgraded connection (RFC 6455 section 4.1: after the 101, only
    frames) is told apart from one that sends a bad frame.
    """
    return _HTTP_REQUEST.match(data) is not None


def quote_request_line(data: bytes | bytearray) -> str:
    """The start of ``data`` up to its first line ending (at most 60 bytes), as a repr."""
    line = bytes(data[:60]).split(b"\r", 1)[0].split(b"\n", 1)[0]
    return repr(line)


# -- Decoding -----------------------------------------------------------------------------

_PREVIEW = 32


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One frame exactly as it was on the wire, before any semantic check.

    Attributes:
        fin: FIN bit.
        rsv1: RSV1 bit.
        rsv2: RSV2 bit.
        rsv3: RSV3 bit.
        opcode: Opcode as an int; may be reserved (3-7, 11-15), so use
            ``Opcode(...)`` only once it is known to be valid.
        masked: MASK bit.
        mask_key: The 4-byte masking key when masked.
        payload: Application bytes, unmasked.
        header: Header bytes exactly as on the wire (2 to 14 bytes, masking key
            included), so the length form used is visible.
    """

    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    opcode: int
    masked: bool
    mask_key: bytes | None
    payload: bytes
    header: bytes

    @property
    def wire_payload(self) -> bytes:
        """The payload as it was on the wire (masked again when the frame was masked)."""
        if self.mask_key is None:
            return self.payload
        return apply_mask(self.payload, self.mask_key)

    @property
    def wire_length(self) -> int:
        """Bytes the frame took on the wire: header plus payload."""
        return len(self.header) + len(self.payload)

    def __repr__(self) -> str:
        preview = repr(self.payload[:_PREVIEW])
        if len(self.payload) > _PREVIEW:
            preview += "..."
        flags = "".join(
            f", {name}=True"
            for name, value in (("rsv1", self.rsv1), ("rsv2", self.rsv2), ("rsv3", self.rsv3))
            if value
        )
        return (
            f"RawFrame({opcode_name(self.opcode)}, fin={self.fin}{flags}, "
            f"masked={self.masked}, {len(self.payload)} bytes, {preview})"
        )


_LENGTH_HIGH_BIT = 1 << 63


def _describe_frame(first: int, second: int) -> str:
    """``"a masked TEXT frame"`` from the first two header bytes, for notes."""
    masked = "a masked" if second & 0x80 else "an unmasked"
    fin = "" if first & 0x80 else " (no FIN)"
    return f"{masked} {opcode_name(first & 0x0F)} frame{fin}"


def _frame(header: bytes, payload: bytes) -> RawFrame:
    """The frame of this header (masking key included, when masked) and unmasked payload."""
    first = header[0]
    masked = bool(header[1] & 0x80)
    return RawFrame(
        fin=bool(first & 0x80),
        rsv1=bool(first & 0x40),
        rsv2=bool(first & 0x20),
        rsv3=bool(first & 0x10),
        opcode=first & 0x0F,
        masked=masked,
        mask_key=header[-4:] if masked else None,
        payload=payload,
        header=header,
    )


class FrameDecoder:
    """Incremental frame parser: bytes in, RawFrame / Violation out. Structure only.

    Opcode, RSV bits, masking direction, control-frame rules and UTF-8 are left
    to `MessageAssembler`: this layer only knows how to find frame boundaries,
    so it can record illegal frames exactly as they were.

    Args:
        max_frame_size: Largest declared payload length accepted; a larger one
            is reported as soon as the length field has arrived.
        role: ``"server"`` (the default) decodes a client's frames and leaves the masking
            check to `MessageAssembler`; ``"client"`` decodes a server's frames, and a masked
            one is a fatal ``masked-frame`` violation (close code 1002, RFC 6455 section 5.1)
            as soon as its first two bytes arrive.
    """

    def __init__(
        self, *, max_frame_size: int | None = None, role: Literal["server", "client"] = "server"
    ) -> None:
        if role not in ("server", "client"):
            raise ValueError(f"role must be 'server' or 'client', got {role!r}")
        self.max_frame_size = max_frame_size
        self.role = role
        self._buffer = bytearray()
        # Header of the frame whose payload is awaited: (header bytes, length).
        self._pending: tuple[bytes, int] | None = None
        # Its payload so far, in the pieces it came in, already unmasked (``_got`` bytes):
        # a large frame is never copied into one growing buffer and sliced out again.
        self._parts: list[bytes] | None = None
        self._got = 0
        self._failed = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as part of a frame.

        Non-zero when the stream ends means the client left a frame unfinished;
        `describe_pending` says which.
        """
        pending = 0 if self._pending is None else len(self._pending[0]) + self._got
        return len(self._buffer) + pending

    @property
    def failed(self) -> bool:
        """Whether a fatal violation was returned (all later input is discarded)."""
        return self._failed

    def describe_pending(self) -> str | None:
        """Describe the incomplete frame held (`buffered` bytes), for a note at end of stream.

        Returns:
            ``None`` when nothing is held, else e.g. ``"1 byte of a frame header"``,
            ``"3 of 6 bytes of the header of a masked TEXT frame"`` or
            ``"9 of 17 bytes of a masked TEXT frame"``.
        """
        if self._pending is not None:
            header, length = self._pending
            # Enough to tell an HTTP request line (only an unmasked frame can look like one,
            # and its parts are the bytes as received).
            held_bytes = header + (self._parts[0][:60] if self._parts else b"")
            text = (
                f"{len(header) + self._got} of {len(header) + length} bytes of "
                f"{_describe_frame(header[0], header[1])}"
            )
        else:
            held_bytes = bytes(self._buffer)
            held = len(held_bytes)
            if not held:
                return None
            if held == 1:
                return "1 byte of a frame header"
            first, second = held_bytes[0], held_bytes[1]
            short = second & 0x7F
            size = (
                2 + (2 if short == 126 else 8 if short == 127 else 0) + (4 if second & 0x80 else 0)
            )
            text = f"{held} of {size} bytes of the header of {_describe_frame(first, second)}"
        if looks_like_http_request(held_bytes):
            # Shorter than the frame its first two bytes announce, so never yielded.
            text += f"; they look like an HTTP request: {quote_request_line(held_bytes)}"
        return text

    def feed(self, data: bytes) -> list[RawFrame | Violation]:
        """Add received bytes; return every frame they complete.

        Returns:
            Frames in wire order. A non-fatal `Violation` (``non-minimal-length``)
            comes just before the frame it is about; a fatal one
            (``invalid-length``, ``frame-too-large``) is last and fails the decoder.
        """
        if self._failed:
            return []
        events: list[RawFrame | Violation] = []
        if self._parts is not None:
            # More of a payload whose header was read.
            assert self._pending is not None
            need = self._pending[1] - self._got
            if len(data) < need:
                self._add_part(data)
                return events
            self._add_part(data[:need])
            events.append(self._complete())
            data = data[need:]
            if not data:
                return events
        # Parse straight from ``data`` when nothing is buffered (the common case:
        # whole frames per read); bytes left over are buffered afterwards.
        source: bytes | bytearray
        if self._buffer:
            self._buffer += data
            source = self._buffer
        else:
            source = data if type(data) is bytes else bytes(data)
        size = len(source)
        offset = 0
        while True:
            if self._pending is None:
                if size - offset < 2:
                    break
                second = source[offset + 1]
                if second & 0x80 and self.role == "client":
                    return self._fail(events, self._masked(source[offset]))
                short = second & 0x7F
                if short < 126:
                    length, extra, non_minimal = short, 0, False
                else:
                    extra = 2 if short == 126 else 8
                    if size - offset < 2 + extra:
                        break
                    length = int.from_bytes(source[offset + 2 : offset + 2 + extra], "big")
                    if length & _LENGTH_HIGH_BIT:
                        return self._fail(events, self._invalid_length(length))
                    non_minimal = length < (126 if extra == 2 else 0x10000)
                if self.max_frame_size is not None and length > self.max_frame_size:
                    return self._fail(events, self._too_large(length))
                header_size = 2 + extra + (4 if second & 0x80 else 0)
                if size - offset < header_size:
                    break
                if non_minimal:
                    events.append(self._non_minimal(length, extra))
                self._pending = (bytes(source[offset : offset + header_size]), length)
                offset += header_size
            header, length = self._pending
            if size - offset < length:
                # The payload comes in later reads: collected in parts from here on.
                self._parts = []
                if offset < size:
                    self._add_part(source[offset:])
                offset = size
                break
            chunk = source[offset : offset + length]
            offset += length
            self._pending = None
            if header[1] & 0x80:
                events.append(_frame(header, apply_mask(chunk, header[-4:])))
            else:
                events.append(_frame(header, chunk if type(chunk) is bytes else bytes(chunk)))
        if source is self._buffer:
            del self._buffer[:offset]
        else:
            self._buffer += source[offset:]
        return events

    def _add_part(self, part: bytes | bytearray) -> None:
        """Keep the next piece of the pending frame's payload, unmasked."""
        assert self._pending is not None
        assert self._parts is not None
        header = self._pending[0]
        if header[1] & 0x80:
            key, turn = header[-4:], self._got % 4
            part = apply_mask(part, key[turn:] + key[:turn])
        elif type(part) is not bytes:
            part = bytes(part)
        self._parts.append(part)
        self._got += len(part)

    def _complete(self) -> RawFrame:
        """The pending frame, now that all of its payload is here."""
        assert self._pending is not None
        assert self._parts is not None
        parts = self._parts
        # The pieces are dropped as soon as they are joined: the payload is held twice at
        # most, for the length of one join.
        self._parts = None
        payload = parts[0] if len(parts) == 1 else b"".join(parts)
        del parts
        header = self._pending[0]
        self._pending, self._got = None, 0
        return _frame(header, payload)

    def _fail(
        self, events: list[RawFrame | Violation], violation: Violation
    ) -> list[RawFrame | Violation]:
        self._failed = True
        self._buffer = bytearray()
        self._pending = None
        self._parts, self._got = None, 0
        events.append(violation)
        return events

    def _invalid_length(self, length: int) -> Violation:
        return Violation(
            "invalid-length",
            f"64-bit payload length {length:#x} has its most significant bit set",
            _FRAMING_RFC,
            close_code=1002,
        )

    def _too_large(self, length: int) -> Violation:
        return Violation(
            "frame-too-large",
            f"frame declares a {length}-byte payload, over the limit of {self.max_frame_size}",
            "RFC 6455 section 10.4",
            close_code=1009,
            limit=True,
        )

    def _masked(self, first: int) -> Violation:
        return Violation(
            "masked-frame",
            f"server sent {_describe_frame(first, 0x80)}; a server must not mask its frames",
            "RFC 6455 section 5.1",
            close_code=1002,
        )

    def _non_minimal(self, length: int, extra: int) -> Violation:
        return Violation(
            "non-minimal-length",
            f"payload length {length} encoded in the {extra * 8}-bit form, "
            "where the minimal number of bytes must be used",
            _FRAMING_RFC,
            close_code=1002,
            fatal=False,
        )
