"""Semantic frame checks and message reassembly for one direction (RFC 6455 sections 5.4-5.8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from ._close import parse_close_payload
from ._deflate import DecompressionTooLarge, DeflateError, DeflateTrailingData, PerMessageDeflate
from ._frames import Opcode, RawFrame, looks_like_http_request, opcode_name, quote_request_line
from ._utf8 import Utf8Validator
from ._violations import Violation

__all__ = [
    "CloseEvent",
    "Event",
    "MessageAssembler",
    "MessageEvent",
    "PingEvent",
    "PongEvent",
]

_PREVIEW = 32


def _preview(data: bytes) -> str:
    text = repr(data[:_PREVIEW])
    return text + "..." if len(data) > _PREVIEW else text


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A complete data message.

    Attributes:
        opcode: `Opcode.TEXT` or `Opcode.BINARY`.
        data: The reassembled, decompressed payload.
        compressed: Whether it came compressed (RSV1, RFC 7692).
        frames: How many frames it came in.
    """

    opcode: Opcode
    data: bytes
    compressed: bool
    frames: int

    @property
    def text(self) -> str:
        """The data decoded as UTF-8 (only meaningful for text messages)."""
        return self.data.decode("utf-8")

    def __repr__(self) -> str:
        return (
            f"MessageEvent({self.opcode.name}, {len(self.data)} bytes, {_preview(self.data)}, "
            f"compressed={self.compressed}, frames={self.frames})"
        )


@dataclass(frozen=True, slots=True)
class PingEvent:
    """A ping; the payload must be echoed in the pong (RFC 6455 section 5.5.2)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class PongEvent:
    """A pong (RFC 6455 section 5.5.3)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class CloseEvent:
    """A close frame (RFC 6455 section 5.5.1), legal or not.

    An invalid payload still gives a close event, so the I/O layer knows the
    peer sent a close frame; `MessageAssembler` returns it right after the
    `Violation`.

    Attributes:
        code: The close code as sent, even an invalid one, or ``None`` when the
            payload had fewer than 2 bytes.
        reason: The reason, decoded as UTF-8 (invalid bytes replaced by U+FFFD).
        payload: The payload as received.
        valid: Whether the payload is legal (section 5.5.1 and 7.4): ``False``
            for a 1-byte payload, a code that may not be sent, or a reason that
            is not UTF-8.
    """

    code: int | None
    reason: str
    payload: bytes
    valid: bool = True


#: What `MessageAssembler.receive` returns.
Event: TypeAlias = MessageEvent | PingEvent | PongEvent | CloseEvent | Violation

_KNOWN_OPCODES = frozenset(Opcode)
_DATA_OPCODES = {Opcode.TEXT.value: Opcode.TEXT, Opcode.BINARY.value: Opcode.BINARY}


def _protocol_error(kind: str, detail: str, section: str) -> Violation:
    return Violation(kind, detail, f"RFC 6455 section {section}", close_code=1002)


class MessageAssembler:
    """Semantic checks and reassembly for one direction of a connection (RFC 6455 sections 5.4-5.8).

    Feed it the frames of `FrameDecoder`; it returns complete messages,
    control frames as they arrive (also between the fragments of a message)
    and violations. After a fatal violation it is failed and ignores further
    frames.

    Args:
        require_masked: ``True`` for client-to-server frames (must be masked),
            ``False`` for server-to-client frames (must not be), ``None`` to skip
            the check (RFC 6455 section 5.1).
        max_message_size: Largest message, after decompression, in bytes.
        deflate: permessage-deflate state when negotiated (RSV1 then means compressed).
    """

    def __init__(
        self,
        *,
        require_masked: bool | None = True,
        max_message_size: int | None = None,
        deflate: PerMessageDeflate | None = None,
    ) -> None:
        self.require_masked = require_masked
        self.max_message_size = max_message_size
        self.deflate = deflate
        self._failed = False
        # The fragmented message in progress, if any.
        self._opcode: Opcode | None = None
        self._compressed = False
        self._parts: list[bytes] = []
        self._size = 0
        self._utf8 = Utf8Validator()

    @property
    def in_message(self) -> bool:
        """Whether a fragmented message has started and not ended."""
        return self._opcode is not None

    @property
    def failed(self) -> bool:
        """Whether a fatal violation was returned (later frames are ignored)."""
        return self._failed

    def receive(self, frame: RawFrame) -> list[Event]:
        """Check one frame and return what it completes.

        Returns:
            Zero or one event: a message (on its last fragment), a ping, pong or
            close, or a `Violation` with its close code; or, for a close frame
            with an invalid payload, two: its `Violation`, then the `CloseEvent`
            (``valid=False``).
        """
        if self._failed:
            return []
        violation = self._check_frame(frame)
        if violation is not None:
            return self._fail(violation)
        opcode = frame.opcode
        if opcode >= 8:
            return self._control(frame)
        if opcode:  # TEXT or BINARY starts a message
            if self._opcode is not None:
                return self._fail(
                    _protocol_error(
                        "interleaved-data-frame",
                        f"{opcode_name(opcode)} frame while a fragmented "
                        f"{self._opcode.name} message is in progress",
                        "5.4",
                    )
                )
            if frame.fin and not frame.rsv1:
                return self._single_frame(frame)
            self._opcode = _DATA_OPCODES[opcode]
            self._compressed = frame.rsv1
        elif self._opcode is None:
            return self._fail(
                _protocol_error(
                    "unexpected-continuation",
                    "continuation frame with no fragmented message in progress",
                    "5.4",
                )
            )
        return self._fragment(frame)

    def _check_frame(self, frame: RawFrame) -> Violation | None:
        """The checks that depend on one frame alone (sections 5.1, 5.2 and 5.5)."""
        # Checked first: whatever else such a "frame" breaks, the client sent HTTP where
        # only frames may follow the 101 (section 4.1), and saying so is what helps.
        # Only an unmasked "frame" can: the MASK bit is the high bit of the second byte,
        # which no ASCII request line has, so masked frames (every real client frame) skip
        # the check at no cost.
        wire = b"" if frame.masked else frame.header + frame.payload[:60]
        if wire and looks_like_http_request(wire):
            return Violation(
                "http-request-on-websocket",
                f"the bytes where a frame should start look like an HTTP request: "
                f"{quote_request_line(wire)} (decoded as {frame!r}); after the 101 "
                "response only WebSocket frames may follow",
                "RFC 6455 sections 5.1 and 5.2",
                close_code=1002,
            )
        if self.require_masked is not None and frame.masked != self.require_masked:
            if self.require_masked:
                return _protocol_error(
                    "unmasked-frame", "client frame is not masked; it must be", "5.1"
                )
            return _protocol_error("masked-frame", "server frame is masked; it must not be", "5.1")
        opcode = frame.opcode
        if opcode not in _KNOWN_OPCODES:
            return _protocol_error(
                "reserved-opcode", f"reserved opcode {opcode} ({opcode_name(opcode)})", "5.2"
            )
        if frame.rsv2 or frame.rsv3:
            bits = [name for name, on in (("RSV2", frame.rsv2), ("RSV3", frame.rsv3)) if on]
            return _protocol_error(
                "reserved-bits", f"{' and '.join(bits)} set, but no extension defines them", "5.2"
            )
        if frame.rsv1:
            if self.deflate is None:
                return _protocol_error(
                    "reserved-bits", "RSV1 set, but permessage-deflate was not negotiated", "5.2"
                )
            if opcode == 0 or opcode >= 8:
                # RFC 7692 section 6.1: only the first frame of a data message carries it.
                return Violation(
                    "reserved-bits",
                    f"RSV1 set on a {opcode_name(opcode)} frame; only the first frame "
                    "of a data message may set it",
                    "RFC 7692 section 6.1",
                    close_code=1002,
                )
        if opcode >= 8:
            if len(frame.payload) > 125:
                return _protocol_error(
                    "control-frame-too-large",
                    f"{opcode_name(opcode)} frame with a {len(frame.payload)}-byte payload; "
                    "control frames carry at most 125 bytes",
                    "5.5",
                )
            if not frame.fin:
                return _protocol_error(
                    "fragmented-control-frame",
                    f"{opcode_name(opcode)} frame without FIN; control frames cannot be fragmented",
                    "5.5",
                )
        return None

    def _control(self, frame: RawFrame) -> list[Event]:
        payload = frame.payload
        if frame.opcode == Opcode.PING:
            return [PingEvent(payload)]
        if frame.opcode == Opcode.PONG:
            return [PongEvent(payload)]
        parsed = parse_close_payload(payload)
        if isinstance(parsed, Violation):
            # The peer did send a close frame, and its closing handshake has started
            # (section 5.5.1) even though the payload is wrong: report both, so the frame
            # is never mistaken for a missing close. The violation comes first: the
            # answer is a 1002/1007 close (section 7.1.7), never an echo of a code that
            # may not be sent, and the close event then completes that handshake.
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            reason = payload[2:].decode("utf-8", "replace")
            return [*self._fail(parsed), CloseEvent(code, reason, payload, valid=False)]
        return [CloseEvent(parsed[0], parsed[1], payload)]

    def _single_frame(self, frame: RawFrame) -> list[Event]:
        """The common case: one uncompressed frame is the whole message."""
        payload = frame.payload
        limit = self.max_message_size
        if limit is not None and len(payload) > limit:
            return self._fail(self._too_big(len(payload)))
        opcode = _DATA_OPCODES[frame.opcode]
        if opcode is Opcode.TEXT and not payload.isascii():
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                return self._fail(self._invalid_utf8(exc.start))
        return [MessageEvent(opcode, payload, False, 1)]

    def _fragment(self, frame: RawFrame) -> list[Event]:
        """Add one fragment of a message (possibly its only, compressed, frame)."""
        data = frame.payload
        limit = self.max_message_size
        if self._compressed:
            assert self.deflate is not None  # guaranteed by _check_frame
            try:
                data = self.deflate.decompress(
                    data, final=frame.fin, max_size=None if limit is None else limit - self._size
                )
            except DecompressionTooLarge:
                return self._fail(self._too_big(None))
            except DeflateTrailingData as exc:
                # Not silently truncated: the message was not what the client meant.
                return self._fail(
                    Violation(
                        "deflate-trailing-data",
                        f"cannot inflate the message: {exc}",
                        "RFC 7692 section 7.2.2",
                        close_code=1007,
                    )
                )
            except DeflateError as exc:
                return self._fail(
                    Violation(
                        "invalid-compressed-data",
                        f"cannot inflate the message: {exc}",
                        "RFC 7692 section 7.2.2",
                        close_code=1007,
                    )
                )
        elif limit is not None and self._size + len(data) > limit:
            # Checked before appending: the oversized message is never held.
            return self._fail(self._too_big(self._size + len(data)))
        if self._opcode is Opcode.TEXT and not self._utf8.feed(data, frame.fin):
            return self._fail(self._invalid_utf8(None))
        self._parts.append(data)
        self._size += len(data)
        if not frame.fin:
            return []
        assert self._opcode is not None
        parts = self._parts
        message = MessageEvent(
            self._opcode,
            parts[0] if len(parts) == 1 else b"".join(parts),
            self._compressed,
            len(parts),
        )
        self._reset()
        return [message]

    def _reset(self) -> None:
        self._opcode = None
        self._compressed = False
        self._parts = []
        self._size = 0
        self._utf8.reset()

    def _fail(self, violation: Violation) -> list[Event]:
        self._failed = True
        self._reset()
        return [violation]

    def _too_big(self, size: int | None) -> Violation:
        if size is None:
            detail = f"message inflates to more than {self.max_message_size} bytes (the limit)"
        else:
            detail = f"message of {size} bytes or more, over the limit of {self.max_message_size}"
        return Violation(
            "message-too-big", detail, "RFC 6455 section 10.4", close_code=1009, limit=True
        )

    def _invalid_utf8(self, position: int | None) -> Violation:
        where = "" if position is None else f" at byte {position}"
        return Violation(
            "invalid-utf8",
            f"text message is not valid UTF-8{where}",
            "RFC 6455 section 8.1",
            close_code=1007,
        )
