"""RFC 7692 permessage-deflate: negotiation and per-connection compression state."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from ._request import ExtensionOffer

__all__ = [
    "DecompressionTooLarge",
    "DeflateError",
    "DeflateParams",
    "DeflateTrailingData",
    "PerMessageDeflate",
    "Role",
    "check_deflate_answer",
    "negotiate_deflate",
    "offer_deflate",
]

#: Which end of the connection a `PerMessageDeflate` compresses for.
Role = Literal["server", "client"]

# RFC 7692 section 7.2.1: the empty stored block ending every sync-flushed message.
_TAIL = b"\x00\x00\xff\xff"
# RFC 7692 section 7.1.2.1: window bits are 1*DIGIT without leading zeros, 8 to 15.
_WINDOW_BITS = re.compile(r"8|9|1[0-5]")
_KNOWN_PARAMS = frozenset(
    {
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
    }
)


class DeflateError(ValueError):
    """Compressed data that zlib cannot inflate (a server closes with 1007)."""


class DeflateTrailingData(DeflateError):
    """Compressed data after the block with BFINAL set, which ends the DEFLATE stream (1007)."""


class DecompressionTooLarge(ValueError):
    """Inflating would produce more than the allowed size (a server closes with 1009)."""


@dataclass(frozen=True, slots=True)
class DeflateParams:
    """The negotiated permessage-deflate parameters (RFC 7692 section 7.1).

    Attributes:
        server_no_context_takeover: The server resets its compressor per message.
        client_no_context_takeover: The client resets its compressor per message.
        server_max_window_bits: The server's LZ77 window limit, if negotiated.
        client_max_window_bits: The client's LZ77 window limit, if negotiated.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None

    def header_value(self) -> str:
        """The ``Sec-WebSocket-Extensions`` response value, e.g.
        ``"permessage-deflate; server_no_context_takeover; client_max_window_bits=12"``."""
        parts = ["permessage-deflate"]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_max_window_bits is not None:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_max_window_bits is not None:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        return "; ".join(parts)


def _smallest(*values: int | None) -> int | None:
    present = [value for value in values if value is not None]
    return min(present) if present else None


def _accept_offer(
    offer: ExtensionOffer,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: int | None,
    client_max_window_bits: int | None,
    keep_client_no_context_takeover: bool,
) -> DeflateParams | None:
    """The response to one offer, or ``None`` when the offer must be declined."""
    seen: dict[str, str | None] = {}
    for name, value in offer.params:
        # Section 7.1: unknown or duplicated parameters, or invalid values,
        # mean the offer must be declined.
        if name not in _KNOWN_PARAMS or name in seen:
            return None
        if name.endswith("no_context_takeover"):
            if value is not None:
                return None
        elif name == "server_max_window_bits":
            if value is None or not _WINDOW_BITS.fullmatch(value):
                return None
            if int(value) == 8:
                # zlib cannot compress with an 8-bit window (it silently uses 9), so we could
                # not honour the limit; declining the offer is what section 7.1.2.1 allows.
                return None
        elif value is not None and not _WINDOW_BITS.fullmatch(value):
            return None  # client_max_window_bits may have no value (section 7.1.2.2)
        seen[name] = value
    requested_server_bits = seen.get("server_max_window_bits")
    offered_client_bits = seen.get("client_max_window_bits")
    client_bits: int | None = None
    if "client_max_window_bits" in seen:
        # Section 7.1.2.2: only when offered; never above the client's own value.
        client_bits = _smallest(
            None if offered_client_bits is None else int(offered_client_bits),
            client_max_window_bits,
        )
    return DeflateParams(
        # Section 7.1.1.1: a server must honour the client's request.
        server_no_context_takeover=server_no_context_takeover
        or "server_no_context_takeover" in seen,
        # Section 7.1.1.2: the client's client_no_context_takeover is a hint the server
        # may leave out, but some clients (Go's gorilla/websocket) refuse an answer
        # without it, and websockets' server echoes it too.
        client_no_context_takeover=client_no_context_takeover
        or (keep_client_no_context_takeover and "client_no_context_takeover" in seen),
        # Section 7.1.2.1: the client's limit is binding; the server may go lower.
        server_max_window_bits=_smallest(
            None if requested_server_bits is None else int(requested_server_bits),
            server_max_window_bits,
        ),
        client_max_window_bits=client_bits,
    )


def negotiate_deflate(
    offers: Sequence[ExtensionOffer],
    *,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
    server_max_window_bits: int | None = None,
    client_max_window_bits: int | None = None,
    keep_client_no_context_takeover: bool = True,
) -> DeflateParams | None:
    """Accept the first acceptable permessage-deflate offer (RFC 7692 sections 5 and 7.1).

    Offers with unknown or duplicated parameters or invalid values are skipped.
    The client's ``server_no_context_takeover`` and ``server_max_window_bits``
    requests are honoured; its ``client_no_context_takeover`` is echoed unless
    ``keep_client_no_context_takeover`` is false; ``client_max_window_bits`` is
    only answered when the client offered it.

    Args:
        offers: The client's offers, in order (`Request.extensions`).
        server_no_context_takeover: The server wants to reset its compressor per message.
        client_no_context_takeover: The server asks the client to reset per message.
        server_max_window_bits: The server's own window limit (8-15).
        client_max_window_bits: The window limit to impose on the client (8-15).
        keep_client_no_context_takeover: Echo the client's own
            ``client_no_context_takeover`` (the default, like websockets' server);
            ``False`` leaves it out of the answer, which section 7.1.1.2 allows.

    Returns:
        The parameters to use and answer with, or ``None`` when no offer is acceptable.

    Raises:
        ValueError: A window-bits argument outside 8-15.
    """
    for bits in (server_max_window_bits, client_max_window_bits):
        if bits is not None and not 8 <= bits <= 15:
            raise ValueError(f"window bits must be in 8..15, got {bits}")
    for offer in offers:
        if offer.name.lower() != "permessage-deflate":
            continue
        params = _accept_offer(
            offer,
            server_no_context_takeover,
            client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
            keep_client_no_context_takeover,
        )
        if params is not None:
            return params
    return None


#: What a client offers: permessage-deflate, with any window the server picks for it.
_CLIENT_OFFER = "permessage-deflate; client_max_window_bits"


def offer_deflate() -> str:
    """The ``Sec-WebSocket-Extensions`` value a client writes to offer permessage-deflate.

    ``client_max_window_bits`` without a value tells the server it may limit the client's
    window (RFC 7692 section 7.1.2.2); no other parameter is requested.
    """
    return _CLIENT_OFFER


def check_deflate_answer(answer: ExtensionOffer) -> DeflateParams | str:
    """Read the server's permessage-deflate answer to `offer_deflate`, as a client must.

    RFC 7692 section 7.1: an unknown or duplicated parameter, a ``no_context_takeover``
    parameter with a value, or a window-bits value that is missing or outside 8-15 means the
    client must fail the connection.

    Returns:
        The negotiated parameters, or a sentence saying which rule the answer broke.
    """
    rfc = "RFC 7692 section 7.1"
    seen: dict[str, str | None] = {}
    for name, value in answer.params:
        if name not in _KNOWN_PARAMS:
            return f"the permessage-deflate answer has an unknown parameter {name!r} ({rfc})"
        if name in seen:
            return f"the permessage-deflate answer has {name} twice ({rfc})"
        if name.endswith("no_context_takeover"):
            if value is not None:
                return f"the permessage-deflate answer gives {name} a value {value!r} ({rfc})"
        elif value is None or not _WINDOW_BITS.fullmatch(value):
            shown = "no value" if value is None else f"the value {value!r}"
            return (
                f"the permessage-deflate answer gives {name} {shown}; it must be a number "
                f"from 8 to 15 ({rfc}.2)"
            )
        seen[name] = value
    server_bits = seen.get("server_max_window_bits")
    client_bits = seen.get("client_max_window_bits")
    return DeflateParams(
        server_no_context_takeover="server_no_context_takeover" in seen,
        client_no_context_takeover="client_no_context_takeover" in seen,
        server_max_window_bits=None if server_bits is None else int(server_bits),
        client_max_window_bits=None if client_bits is None else int(client_bits),
    )


class PerMessageDeflate:
    """Compression state for one connection, from the server's side or the client's.

    The server role compresses with the server's window and ``server_no_context_takeover``
    and inflates the client's messages; the client role is the mirror image (RFC 7692
    section 7.1: each side's parameters govern what that side compresses).

    Args:
        params: The negotiated parameters.
        role: ``"server"`` (the default) or ``"client"``.
    """

    def __init__(self, params: DeflateParams, *, role: Role = "server") -> None:
        if role not in ("server", "client"):
            raise ValueError(f"role must be 'server' or 'client', got {role!r}")
        self.params = params
        self.role = role
        if role == "server":
            own_bits = params.server_max_window_bits
            self._own_reset = params.server_no_context_takeover
            self._peer_reset = params.client_no_context_takeover
        else:
            own_bits = params.client_max_window_bits
            self._own_reset = params.client_no_context_takeover
            self._peer_reset = params.server_no_context_takeover
        # zlib refuses a raw-deflate window of 8 bits for compression and uses 9
        # instead (https://github.com/madler/zlib/issues/171).
        self._compress_bits = max(9, own_bits or 15)
        self._compressor: _Compressor | None = None
        self._decompressor: _Decompressor | None = None

    def compress(self, data: bytes) -> bytes:
        """Compress one whole message payload of our side (RFC 7692 section 7.2.1).

        Returns:
            Raw deflate data, sync-flushed, without the trailing ``00 00 ff ff``.
        """
        if self._compressor is None or self._own_reset:
            self._compressor = zlib.compressobj(
                zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self._compress_bits
            )
        compressed = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        if compressed.endswith(_TAIL):
            compressed = compressed[:-4]
        return compressed

    def decompress(self, data: bytes, *, final: bool, max_size: int | None = None) -> bytes:
        """Inflate one fragment of a message from the peer (RFC 7692 section 7.2.2).

        Args:
            data: The fragment's payload (the message's first frame had RSV1 set).
            final: Whether this is the message's last fragment: ``00 00 ff ff`` is
                appended first, and the state reset after it without context takeover.
            max_size: Most bytes this call may produce; zlib is told so, so a
                decompression bomb is never inflated beyond it.

        Raises:
            DecompressionTooLarge: More than ``max_size`` bytes would be produced.
            DeflateTrailingData: Data follows the block with BFINAL set (in this
                fragment or an earlier one of the message).
            DeflateError: The data is not valid deflate data.
        """
        if self._decompressor is None:
            # A 15-bit window inflates data compressed with any smaller window.
            self._decompressor = zlib.decompressobj(-15)
        decompressor = self._decompressor
        if decompressor.eof and data:
            # An earlier fragment of this message ended the stream with BFINAL: zlib
            # would silently park this data in unused_data and drop it.
            self._decompressor = None
            raise DeflateTrailingData(
                f"{len(data)} bytes of compressed data in a fragment after the final "
                "DEFLATE block (BFINAL set)"
            )
        if final:
            data += _TAIL
        try:
            # max_size + 1 tells "exactly max_size" apart from "more", and keeps
            # max_size == 0 from meaning "unlimited" to zlib.
            output = decompressor.decompress(data, 0 if max_size is None else max_size + 1)
        except zlib.error as exc:
            self._decompressor = None
            raise DeflateError(f"invalid deflate data: {exc}") from exc
        if max_size is not None and len(output) > max_size:
            self._decompressor = None
            raise DecompressionTooLarge(f"inflating would produce more than {max_size} bytes")
        unused = decompressor.unused_data
        # Section 7.2.2 inflates payload + tail as one DEFLATE stream; after a block with
        # BFINAL set (allowed by section 7.2.3.4) only the tail we appended may be left.
        if unused and not (final and _TAIL.endswith(unused)):
            self._decompressor = None
            extra = len(unused) - (len(_TAIL) if final and unused.endswith(_TAIL) else 0)
            raise DeflateTrailingData(
                f"{extra} bytes after the final DEFLATE block (BFINAL set): {unused[:16]!r}"
            )
        if final and (self._peer_reset or decompressor.eof):
            # After BFINAL the stream is over: the next message starts afresh.
            self._decompressor = None
        return output


# typeshed names zlib's stream objects privately (zlib._Compress); these say what we use.
class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self, mode: int = ..., /) -> bytes: ...


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, /, max_length: int = ...) -> bytes: ...
