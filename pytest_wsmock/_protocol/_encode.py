"""Encoding frames (RFC 6455 section 5.2), legal or deliberately not."""

from __future__ import annotations

import struct

from ._mask import apply_mask

__all__ = ["encode_frame", "encode_frame_parts"]

_PACK_7 = struct.Struct("!BB").pack
_PACK_16 = struct.Struct("!BBH").pack
_PACK_64 = struct.Struct("!BBQ").pack


def encode_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask_key: bytes | None = None,
    length: int | None = None,
    length_bits: int | None = None,
) -> bytes:
    """Serialize one frame (RFC 6455 section 5.2), legal or deliberately not.

    Nothing is validated beyond what the wire format can express: reserved
    opcodes, RSV bits, oversized or fragmented control frames, lying lengths
    and non-minimal length encodings are all allowed, because a mock server
    must be able to send them on purpose.

    Args:
        opcode: 0-15, reserved values included.
        payload: Application bytes (masked here when ``mask_key`` is given).
        fin: FIN bit.
        rsv1: RSV1 bit (set on the first frame of a compressed message, RFC 7692).
        rsv2: RSV2 bit.
        rsv3: RSV3 bit.
        mask_key: 4 bytes: the MASK bit is set and the payload masked with it.
        length: Payload length written in the header (default ``len(payload)``);
            may differ from the real length.
        length_bits: ``None`` for the minimal length form, or 7, 16 or 64 to
            force that form. The 64-bit form carries lengths >= 2**63 too (the
            RFC forbids the most significant bit: a deliberate violation).

    Returns:
        Header, masking key if any, and payload.

    Raises:
        ValueError: Opcode outside 0-15, mask key not 4 bytes, negative length,
            or a length that does not fit the (forced) length form.
    """
    header, body = encode_frame_parts(
        opcode,
        payload,
        fin=fin,
        rsv1=rsv1,
        rsv2=rsv2,
        rsv3=rsv3,
        mask_key=mask_key,
        length=length,
        length_bits=length_bits,
    )
    return header + body


def encode_frame_parts(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask_key: bytes | None = None,
    length: int | None = None,
    length_bits: int | None = None,
) -> tuple[bytes, bytes]:
    """`encode_frame`, with the header (masking key included) and the payload as on the wire
    returned apart, so that a large payload is written without being copied behind its header.
    """
    if not 0 <= opcode <= 15:
        raise ValueError(f"opcode must be in 0..15, got {opcode}")
    first = (
        (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0)
    ) | opcode
    declared = len(payload) if length is None else length
    mask_bit = 0 if mask_key is None else 0x80
    if declared < 0:
        raise ValueError(f"length must not be negative, got {declared}")
    if length_bits is None:
        length_bits = 7 if declared < 126 else 16 if declared < 0x10000 else 64
    if length_bits == 7 and declared <= 125:
        header = _PACK_7(first, mask_bit | declared)
    elif length_bits == 16 and declared <= 0xFFFF:
        header = _PACK_16(first, mask_bit | 126, declared)
    elif length_bits == 64 and declared <= 0xFFFF_FFFF_FFFF_FFFF:
        header = _PACK_64(first, mask_bit | 127, declared)
    else:
        if length_bits not in (7, 16, 64):
            raise ValueError(f"length_bits must be None, 7, 16 or 64, got {length_bits}")
        raise ValueError(f"length {declared} does not fit the {length_bits}-bit length form")
    if mask_key is None:
        return header, payload
    if len(mask_key) != 4:
        raise ValueError(f"mask key must be 4 bytes, got {len(mask_key)}")
    return header + mask_key, apply_mask(payload, mask_key)
