"""Deliberate server-side protocol violations: the ``FRAME_VIOLATIONS`` catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from ._protocol import Opcode, build_close_payload
from ._steps import Step, StepFailed
from ._websocket import OutFrame, WebSocket


@dataclass(frozen=True, repr=False)
class FrameViolation(Step):
    """Frames that break RFC 6455 on purpose, as a script step and a pytest parameter.

    After writing them, the server gives the client ``violation_grace`` seconds to fail the
    connection, then closes TCP itself (some clients never do, see the docs' client table).

    Attributes:
        id: short name, used as the pytest id.
        description: what the server writes.
        rfc: the rule it breaks.
        close_code: the close code a compliant client sends when it fails the connection.
        frames: the frames written, in order (a legal prefix included where the violation
            needs one, e.g. the start of a fragmented message).
        needs_no_extension: the violation only exists when permessage-deflate is off
            (RSV1 is legal with it); the step fails with a clear message otherwise.
    """

    id: str
    description: str
    rfc: str
    close_code: int
    frames: tuple[OutFrame, ...]
    needs_no_extension: bool = False

    @property
    def needs_no_deflate(self) -> bool:  # type: ignore[override]
        """The server declines deflate for a connection whose script holds this step."""
        return self.needs_no_extension

    def describe(self) -> str:
        return f"FRAME_VIOLATIONS[{self.id}]"

    async def run(self, ws: WebSocket) -> None:
        if self.needs_no_extension and ws.compression:
            raise StepFailed(
                f"{self.id} needs a connection without permessage-deflate (RSV1 is legal with "
                f"it): use @pytest.mark.wsmock(deflate=False)"
            )
        await ws.transport.send_frames(self.frames, deliberate=True)
        ws.end_after_grace()


_MASK = b"\x37\xfa\x21\x3d"


def _v(
    id: str,
    description: str,
    rfc: str,
    close_code: int,
    *frames: OutFrame,
    needs_no_extension: bool = False,
) -> FrameViolation:
    return FrameViolation(id, description, rfc, close_code, frames, needs_no_extension)


def _close_code(code: int) -> FrameViolation:
    return _v(
        f"close-code-{code}",
        f"close frame with code {code}, which may not appear on the wire",
        "RFC 6455 section 7.4.1 and 7.4.2",
        1002,
        OutFrame(Opcode.CLOSE, build_close_payload(code, "")),
    )


def _reserved_opcode(opcode: int) -> FrameViolation:
    kind = "control" if opcode >= 8 else "data"
    return _v(
        f"reserved-opcode-{opcode}",
        f"frame with reserved {kind} opcode {opcode}",
        "RFC 6455 section 5.2",
        1002,
        OutFrame(opcode, b"reserved"),
    )


#: Frames a compliant client must reject by failing the connection. Each entry is a script
#: step (``ws_server.script(send_text("hi"), entry)``) and a readable pytest parameter.
FRAME_VIOLATIONS: tuple[FrameViolation, ...] = (
    _v(
        "masked-frame",
        "text frame masked by the server",
        "RFC 6455 section 5.1 (a server must not mask)",
        1002,
        OutFrame(Opcode.TEXT, b"masked", mask_key=_MASK),
    ),
    _v(
        "invalid-utf8",
        "text message that is not valid UTF-8",
        "RFC 6455 section 5.6 and 8.1",
        1007,
        OutFrame(Opcode.TEXT, b"caf\xc3\x28 \xff"),
    ),
    _v(
        "invalid-utf8-fragmented",
        "text message whose UTF-8 breaks across two fragments",
        "RFC 6455 section 5.6 and 8.1",
        1007,
        OutFrame(Opcode.TEXT, b"caf\xc3", fin=False),
        OutFrame(Opcode.CONTINUATION, b"\x28!"),
    ),
    _v(
        "rsv1-without-extension",
        "text frame with RSV1 set, no extension negotiated",
        "RFC 6455 section 5.2",
        1002,
        OutFrame(Opcode.TEXT, b"rsv1", rsv1=True),
        needs_no_extension=True,
    ),
    _v(
        "rsv2",
        "text frame with RSV2 set",
        "RFC 6455 section 5.2",
        1002,
        OutFrame(Opcode.TEXT, b"rsv2", rsv2=True),
    ),
    _v(
        "rsv3",
        "text frame with RSV3 set",
        "RFC 6455 section 5.2",
        1002,
        OutFrame(Opcode.TEXT, b"rsv3", rsv3=True),
    ),
    *(_reserved_opcode(op) for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)),
    _v(
        "control-frame-too-large",
        "ping with a 126-byte payload",
        "RFC 6455 section 5.5 (control payloads are at most 125 bytes)",
        1002,
        OutFrame(Opcode.PING, b"p" * 126),
    ),
    _v(
        "fragmented-control-frame",
        "ping with FIN clear",
        "RFC 6455 section 5.5 (control frames must not be fragmented)",
        1002,
        OutFrame(Opcode.PING, b"frag", fin=False),
    ),
    _v(
        "unexpected-continuation",
        "continuation frame with no message to continue",
        "RFC 6455 section 5.4",
        1002,
        OutFrame(Opcode.CONTINUATION, b"orphan"),
    ),
    _v(
        "interleaved-data-frame",
        "new text frame in the middle of a fragmented message",
        "RFC 6455 section 5.4",
        1002,
        OutFrame(Opcode.TEXT, b"first half", fin=False),
        OutFrame(Opcode.TEXT, b"another message"),
    ),
    _v(
        "close-payload-1-byte",
        "close frame with a 1-byte payload",
        "RFC 6455 section 5.5.1 (a close body starts with a 2-byte code)",
        1002,
        OutFrame(Opcode.CLOSE, b"\x03"),
    ),
    *(_close_code(code) for code in (0, 999, 1004, 1005, 1006, 1015, 5000)),
    _v(
        "close-reason-invalid-utf8",
        "close frame whose reason is not UTF-8",
        "RFC 6455 section 5.5.1 and 8.1",
        1007,
        OutFrame(Opcode.CLOSE, build_close_payload(1000, b"\xff\xfe")),
    ),
    _v(
        "length-high-bit",
        "text frame whose 64-bit length has the most significant bit set",
        "RFC 6455 section 5.2 (the most significant bit must be 0)",
        1002,
        OutFrame(Opcode.TEXT, b"hello", length=2**63 + 5, length_bits=64),
    ),
    _v(
        "non-minimal-length",
        "5-byte text frame with a 16-bit length",
        "RFC 6455 section 5.2 (the minimal number of bytes must be used)",
        1002,
        OutFrame(Opcode.TEXT, b"hello", length_bits=16),
    ),
)
