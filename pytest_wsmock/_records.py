"""Immutable records of a connection: frames, messages, the handshake response, the close."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CloseInfo",
    "Direction",
    "Frame",
    "HandshakeResponse",
    "Message",
    "TcpEnd",
    "preview",
]

from ._protocol import Direction, Headers, Opcode, apply_mask, close_code_name, opcode_name

_PREVIEW = 40


def preview(data: bytes, limit: int = _PREVIEW) -> str:
    """A short, readable rendering of a payload: text when it decodes, bytes repr otherwise."""
    head = data[:limit]
    try:
        text: object = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head
    more = f"...(+{len(data) - limit} bytes)" if len(data) > limit else ""
    return f"{text!r}{more}"


@dataclass(frozen=True, slots=True, repr=False)
class Frame:
    """One frame exactly as it was on the wire.

    You get frames from :attr:`Connection.frames`; the server records them as they pass.

    Attributes:
        direction: who sent it.
        opcode: the 4-bit opcode as an ``int`` (reserved values are kept as they were).
        fin: the FIN bit.
        rsv1: the RSV1 bit (set on the first frame of a compressed message).
        rsv2: the RSV2 bit.
        rsv3: the RSV3 bit.
        masked: the MASK bit.
        mask_key: the 4-byte masking key, or ``None`` when not masked.
        payload: the payload after unmasking (still compressed when RSV1 says so).
        header: the header bytes exactly as on the wire, so the length form is visible.
        time: ``time.monotonic()`` when the frame was read or written.
    """

    direction: Direction
    opcode: int
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    masked: bool
    mask_key: bytes | None
    payload: bytes
    header: bytes
    time: float

    @property
    def opcode_name(self) -> str:
        """``"TEXT"``, ``"CLOSE"``, ``"RESERVED-3"``, ..."""
        return opcode_name(self.opcode)

    @property
    def wire_payload(self) -> bytes:
        """The payload bytes as they were on the wire (masked when the frame was masked)."""
        if self.mask_key is None:
            return self.payload
        return apply_mask(self.payload, self.mask_key)

    @property
    def wire(self) -> bytes:
        """The whole frame as it was on the wire."""
        return self.header + self.wire_payload

    @property
    def is_control(self) -> bool:
        """Whether the opcode is a control opcode (8 to 15)."""
        return self.opcode >= 8

    def flags(self) -> str:
        """The set bits as a short string, e.g. ``"fin rsv1 masked"``."""
        names = ("fin", "rsv1", "rsv2", "rsv3", "masked")
        values = (self.fin, self.rsv1, self.rsv2, self.rsv3, self.masked)
        return " ".join(name for name, value in zip(names, values, strict=True) if value) or "-"

    def __repr__(self) -> str:
        return (
            f"Frame({self.direction} {self.opcode_name} [{self.flags()}] "
            f"{len(self.payload)} B {preview(self.payload)})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class Message:
    """A whole data message, reassembled from its frames and decompressed.

    Attributes:
        direction: who sent it.
        opcode: :attr:`Opcode.TEXT` or :attr:`Opcode.BINARY`.
        data: the message bytes (UTF-8 for text).
        compressed: whether it travelled compressed (permessage-deflate).
        frames: how many frames carried it.
        time: ``time.monotonic()`` when its last frame passed.
    """

    direction: Direction
    opcode: Opcode
    data: bytes
    compressed: bool
    frames: int
    time: float

    @property
    def is_text(self) -> bool:
        """Whether this is a text message."""
        return self.opcode == Opcode.TEXT

    @property
    def text(self) -> str:
        """The message decoded as UTF-8 (a text message is valid UTF-8 once recorded)."""
        return self.data.decode("utf-8", errors="replace")

    @property
    def value(self) -> str | bytes:
        """``str`` for a text message, ``bytes`` for a binary one."""
        return self.text if self.is_text else self.data

    def __repr__(self) -> str:
        kind = "text" if self.is_text else "binary"
        extra = f", {self.frames} frames" if self.frames != 1 else ""
        extra += ", compressed" if self.compressed else ""
        return f"Message({self.direction} {kind} {len(self.data)} B {preview(self.data)}{extra})"


@dataclass(frozen=True, slots=True)
class HandshakeResponse:
    """The HTTP response the server actually wrote to the opening handshake.

    Attributes:
        status: the status code written.
        reason: the reason phrase written.
        headers: the headers written, in order.
        body: the body written.
        raw: every byte of the response as written.
    """

    status: int
    reason: str
    headers: Headers
    body: bytes
    raw: bytes


TcpEnd = Literal["fin", "rst"]


@dataclass(frozen=True, slots=True)
class CloseInfo:
    """How a connection ended: the closing handshake and the TCP close.

    Attributes:
        initiator: who sent the first close frame, or ``None`` when no close frame was sent.
        client_sent: whether the client sent a close frame.
        client_code: the code in the client's close frame (``None``: none, or an empty payload).
        client_reason: the reason in the client's close frame.
        server_sent: whether the server sent a close frame.
        server_code: the code in the server's close frame.
        server_reason: the reason in the server's close frame.
        tcp_closed_by: who closed TCP first.
        tcp_end: ``"fin"`` for an orderly TCP close, ``"rst"`` when the connection was reset.
    """

    initiator: Direction | None
    client_sent: bool
    client_code: int | None
    client_reason: str
    server_sent: bool
    server_code: int | None
    server_reason: str
    tcp_closed_by: Direction
    tcp_end: TcpEnd

    @property
    def code(self) -> int | None:
        """The close code the *client* sent (what a test of a client usually asserts on)."""
        return self.client_code

    @property
    def reason(self) -> str:
        """The close reason the *client* sent."""
        return self.client_reason

    @property
    def clean(self) -> bool:
        """Whether both sides sent a close frame and TCP ended with a FIN."""
        return self.client_sent and self.server_sent and self.tcp_end == "fin"

    def __str__(self) -> str:
        def side(sent: bool, code: int | None, reason: str) -> str:
            if not sent:
                return "no close frame"
            text = close_code_name(code) if code is not None else "no status code"
            return f"{text} {reason!r}" if reason else text

        first = f"{self.initiator} closed first" if self.initiator else "no closing handshake"
        return (
            f"{first}; client sent {side(self.client_sent, self.client_code, self.client_reason)}; "
            f"server sent {side(self.server_sent, self.server_code, self.server_reason)}; "
            f"TCP closed by {self.tcp_closed_by} with {self.tcp_end.upper()}"
        )
