"""Tests for permessage-deflate negotiation and compression state (RFC 7692)."""

from __future__ import annotations

import os
import zlib

import pytest

from pytest_wsmock._protocol import (
    DecompressionTooLarge,
    DeflateError,
    DeflateParams,
    DeflateTrailingData,
    ExtensionOffer,
    PerMessageDeflate,
    negotiate_deflate,
    parse_extensions,
)


def offers(*values: str) -> tuple[ExtensionOffer, ...]:
    return parse_extensions(values)


def client_compress(data: bytes, bits: int = 15) -> bytes:
    """What a client sends: raw deflate, sync-flushed, tail removed (RFC 7692 section 7.2.1)."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits)
    compressed = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert compressed.endswith(b"\x00\x00\xff\xff")
    return compressed[:-4]


def inflate(data: bytes, decompressor: zlib._Decompress) -> bytes:
    return decompressor.decompress(data + b"\x00\x00\xff\xff")


# -- DeflateParams ------------------------------------------------------------------------


def test_header_value() -> None:
    """header_value lists the negotiated parameters in a fixed order."""
    assert DeflateParams().header_value() == "permessage-deflate"
    assert (
        DeflateParams(server_no_context_takeover=True, client_max_window_bits=12).header_value()
        == "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"
    )
    assert DeflateParams(True, True, 10, 11).header_value() == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10; client_max_window_bits=11"
    )


# -- negotiate_deflate --------------------------------------------------------------------


def test_negotiate_plain_offer() -> None:
    """A bare offer is accepted with default parameters."""
    assert negotiate_deflate(offers("permessage-deflate")) == DeflateParams()


def test_negotiate_ignores_other_extensions() -> None:
    """Other extensions are skipped; nothing acceptable gives None."""
    assert negotiate_deflate(offers("x-webkit-deflate-frame")) is None
    assert negotiate_deflate(()) is None
    assert negotiate_deflate(offers("x-foo, permessage-deflate")) == DeflateParams()


@pytest.mark.parametrize(
    "offer",
    [
        pytest.param("permessage-deflate; unknown", id="unknown-param"),
        pytest.param(
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            id="duplicate",
        ),
        pytest.param("permessage-deflate; server_no_context_takeover=1", id="value-on-flag"),
        pytest.param("permessage-deflate; client_no_context_takeover=yes", id="value-on-flag-2"),
        pytest.param("permessage-deflate; server_max_window_bits", id="server-bits-no-value"),
        pytest.param("permessage-deflate; server_max_window_bits=7", id="server-bits-7"),
        pytest.param("permessage-deflate; server_max_window_bits=16", id="server-bits-16"),
        pytest.param("permessage-deflate; server_max_window_bits=010", id="leading-zero"),
        pytest.param("permessage-deflate; client_max_window_bits=x", id="client-bits-x"),
    ],
)
def test_negotiate_rejects_invalid_offers(offer: str) -> None:
    """Offers with unknown, duplicated or invalid parameters are declined (section 7.1)."""
    assert negotiate_deflate(offers(offer)) is None


def test_negotiate_picks_the_first_acceptable_offer() -> None:
    """An invalid first offer is skipped in favour of the next one."""
    result = negotiate_deflate(
        offers(
            "permessage-deflate; bogus, permessage-deflate; server_max_window_bits=10, "
            "permessage-deflate"
        )
    )
    assert result == DeflateParams(server_max_window_bits=10)


def test_negotiate_honours_server_no_context_takeover_request() -> None:
    """The client's server_no_context_takeover is always echoed."""
    result = negotiate_deflate(offers("permessage-deflate; server_no_context_takeover"))
    assert result == DeflateParams(server_no_context_takeover=True)


def test_negotiate_server_wishes() -> None:
    """The server can choose no context takeover on either side."""
    result = negotiate_deflate(
        offers("permessage-deflate"),
        server_no_context_takeover=True,
        client_no_context_takeover=True,
    )
    assert result == DeflateParams(True, True)


def test_negotiate_echoes_the_client_no_context_takeover_offer() -> None:
    """The client's client_no_context_takeover is kept in the answer (Go's gorilla requires it)."""
    result = negotiate_deflate(
        offers("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    )
    assert result == DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True)
    assert result.header_value() == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    )


def test_negotiate_can_leave_out_the_client_no_context_takeover_offer() -> None:
    """keep_client_no_context_takeover=False answers without it (a hint the server may ignore)."""
    offer = offers("permessage-deflate; client_no_context_takeover")
    assert negotiate_deflate(offer, keep_client_no_context_takeover=False) == DeflateParams()
    assert negotiate_deflate(
        offer, client_no_context_takeover=True, keep_client_no_context_takeover=False
    ) == DeflateParams(client_no_context_takeover=True)


def test_echoed_client_no_context_takeover_resets_the_decompressor() -> None:
    """With client_no_context_takeover echoed, each client message is inflated afresh."""
    params = negotiate_deflate(offers("permessage-deflate; client_no_context_takeover"))
    assert params is not None
    deflate = PerMessageDeflate(params)
    # A compressor that (wrongly) keeps its context refers back into the first
    # message; a decompressor that reset as agreed cannot resolve that.
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    message = b"repeat me " * 10
    first, second = (
        (compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4] for _ in range(2)
    )
    assert deflate.decompress(first, final=True) == message
    with pytest.raises(DeflateError):
        deflate.decompress(second, final=True)


def test_negotiate_server_window_bits() -> None:
    """The client's server_max_window_bits is honoured, lowered if the server wants less."""
    offer = offers("permessage-deflate; server_max_window_bits=12")
    assert negotiate_deflate(offer) == DeflateParams(server_max_window_bits=12)
    assert negotiate_deflate(offer, server_max_window_bits=10) == DeflateParams(
        server_max_window_bits=10
    )
    assert negotiate_deflate(offer, server_max_window_bits=14) == DeflateParams(
        server_max_window_bits=12
    )
    assert negotiate_deflate(
        offers("permessage-deflate"), server_max_window_bits=11
    ) == DeflateParams(server_max_window_bits=11)


def test_negotiate_client_window_bits_only_when_offered() -> None:
    """client_max_window_bits is only answered when the client offered it."""
    assert (
        negotiate_deflate(offers("permessage-deflate"), client_max_window_bits=10)
        == DeflateParams()
    )
    assert negotiate_deflate(
        offers("permessage-deflate; client_max_window_bits"), client_max_window_bits=10
    ) == DeflateParams(client_max_window_bits=10)
    assert (
        negotiate_deflate(offers("permessage-deflate; client_max_window_bits")) == DeflateParams()
    )
    assert negotiate_deflate(
        offers("permessage-deflate; client_max_window_bits=9"), client_max_window_bits=12
    ) == DeflateParams(client_max_window_bits=9)
    assert negotiate_deflate(
        offers('permessage-deflate; client_max_window_bits="12"')
    ) == DeflateParams(client_max_window_bits=12)


@pytest.mark.parametrize("bits", [7, 16])
def test_negotiate_rejects_bad_server_settings(bits: int) -> None:
    """Window bits outside 8-15 in the server's own settings are a ValueError."""
    with pytest.raises(ValueError, match="window bits"):
        negotiate_deflate(offers("permessage-deflate"), server_max_window_bits=bits)


# -- PerMessageDeflate: compress ----------------------------------------------------------


def test_compress_strips_the_tail_and_inflates_back() -> None:
    """compress output lacks 00 00 ff ff and inflates to the message."""
    deflate = PerMessageDeflate(DeflateParams())
    decompressor = zlib.decompressobj(-15)
    for message in [b"hello", b"hello", b"", os.urandom(5000)]:
        compressed = deflate.compress(message)
        assert not compressed.endswith(b"\x00\x00\xff\xff")
        assert inflate(compressed, decompressor) == message


def test_compress_with_context_takeover_reuses_the_window() -> None:
    """With context takeover, a repeated message compresses smaller the second time."""
    deflate = PerMessageDeflate(DeflateParams())
    message = os.urandom(500)
    first = deflate.compress(message)
    second = deflate.compress(message)
    assert len(second) < len(first) // 4


def test_compress_without_context_takeover_starts_afresh() -> None:
    """With server_no_context_takeover, each message compresses independently."""
    deflate = PerMessageDeflate(DeflateParams(server_no_context_takeover=True))
    message = os.urandom(500)
    first = deflate.compress(message)
    assert deflate.compress(message) == first
    assert zlib.decompressobj(-15).decompress(first + b"\x00\x00\xff\xff") == message


@pytest.mark.parametrize("bits", [8, 9, 12])
def test_compress_small_windows(bits: int) -> None:
    """Small windows work; 8 bits is compressed with zlib's minimum of 9."""
    deflate = PerMessageDeflate(DeflateParams(server_max_window_bits=bits))
    message = os.urandom(300) * 5
    assert inflate(deflate.compress(message), zlib.decompressobj(-max(bits, 9))) == message


# -- PerMessageDeflate: decompress --------------------------------------------------------


def test_decompress_one_message() -> None:
    """A whole compressed message inflates back."""
    deflate = PerMessageDeflate(DeflateParams())
    assert deflate.decompress(client_compress(b"hello"), final=True) == b"hello"


def test_decompress_fragments() -> None:
    """Fragments of compressed data inflate piecewise; the tail goes on the final one."""
    data = client_compress(b"hello world" * 100)
    deflate = PerMessageDeflate(DeflateParams())
    parts = [deflate.decompress(data[:7], final=False), deflate.decompress(data[7:], final=True)]
    assert b"".join(parts) == b"hello world" * 100


def test_decompress_with_context_takeover() -> None:
    """With context takeover the decompressor keeps its window across messages."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    deflate = PerMessageDeflate(DeflateParams())
    for message in [b"repeat me " * 10] * 3:
        compressed = compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)
        assert deflate.decompress(compressed[:-4], final=True) == message


def test_decompress_without_context_takeover_resets() -> None:
    """With client_no_context_takeover each message gets a fresh decompressor."""
    deflate = PerMessageDeflate(DeflateParams(client_no_context_takeover=True))
    for message in [b"first", b"second", b"first"]:
        assert deflate.decompress(client_compress(message), final=True) == message


def test_decompress_max_size() -> None:
    """Exactly max_size bytes is fine; more is DecompressionTooLarge."""
    data = client_compress(b"x" * 1000)
    assert (
        len(PerMessageDeflate(DeflateParams()).decompress(data, final=True, max_size=1000)) == 1000
    )
    with pytest.raises(DecompressionTooLarge):
        PerMessageDeflate(DeflateParams()).decompress(data, final=True, max_size=999)
    with pytest.raises(DecompressionTooLarge):
        PerMessageDeflate(DeflateParams()).decompress(data, final=True, max_size=0)
    empty = client_compress(b"")
    assert PerMessageDeflate(DeflateParams()).decompress(empty, final=True, max_size=0) == b""


def test_decompress_corrupt_data() -> None:
    """Data that is not deflate raises DeflateError, a ValueError."""
    with pytest.raises(DeflateError):
        PerMessageDeflate(DeflateParams()).decompress(b"\xff\xff\xff\xff", final=True)
    assert issubclass(DeflateError, ValueError)
    assert issubclass(DecompressionTooLarge, ValueError)


def final_block(data: bytes) -> bytes:
    """Raw deflate ending with a block that has BFINAL set (RFC 7692 section 7.2.3.4)."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH)


def test_decompress_message_ending_with_a_final_block() -> None:
    """A message whose last block has BFINAL set inflates (the appended tail is ignored)."""
    deflate = PerMessageDeflate(DeflateParams())
    assert deflate.decompress(final_block(b"hello"), final=True) == b"hello"
    assert deflate.decompress(client_compress(b"again"), final=True) == b"again"


def test_decompress_data_after_the_final_block_in_one_fragment() -> None:
    """Bytes after a BFINAL block in the same fragment raise DeflateTrailingData."""
    deflate = PerMessageDeflate(DeflateParams())
    with pytest.raises(DeflateTrailingData, match="3 bytes after the final"):
        deflate.decompress(final_block(b"hello") + b"xyz", final=True)
    assert issubclass(DeflateTrailingData, DeflateError)


def test_decompress_data_after_the_final_block_in_a_later_fragment() -> None:
    """Compressed data in a fragment after the one that ended the stream raises."""
    deflate = PerMessageDeflate(DeflateParams())
    assert deflate.decompress(final_block(b"hello"), final=False) == b"hello"
    assert deflate.decompress(b"", final=False) == b""  # an empty fragment is fine
    with pytest.raises(DeflateTrailingData):
        deflate.decompress(client_compress(b" world"), final=True)
    # The state was dropped: the next message inflates afresh.
    assert deflate.decompress(client_compress(b"next"), final=True) == b"next"


def test_params_are_kept() -> None:
    """The negotiated parameters are available on the state object."""
    params = DeflateParams(client_no_context_takeover=True)
    assert PerMessageDeflate(params).params is params


def test_offer_limiting_the_server_window_to_8_bits_is_declined() -> None:
    """An offer with server_max_window_bits=8 is declined: zlib cannot compress with 8 bits."""
    offers = parse_extensions(
        ["permessage-deflate; server_max_window_bits=8", "permessage-deflate"]
    )
    assert negotiate_deflate(offers) == DeflateParams()
    assert negotiate_deflate(offers[:1]) is None
