"""Incremental strict UTF-8 validation for fragmented text messages (RFC 6455 section 8.1)."""

from __future__ import annotations

import codecs

__all__ = ["Utf8Validator"]

_Decoder = codecs.getincrementaldecoder("utf-8")


class Utf8Validator:
    """Incremental strict UTF-8 check (codecs incremental decoder), so a text message fails on the
    first invalid fragment rather than after the whole message.

    RFC 6455 section 8.1 lets an endpoint fail the connection as soon as a
    fragment is known to be invalid; a character split across fragments is fine.
    """

    __slots__ = ("_decoder", "_valid")

    def __init__(self) -> None:
        self._decoder = _Decoder("strict")
        self._valid = True

    def feed(self, data: bytes, final: bool = False) -> bool:
        """Check the next fragment.

        Args:
            data: The fragment's bytes.
            final: Whether this is the last fragment (a truncated character at
                the end is then invalid).

        Returns:
            ``False`` once the input so far can never be valid UTF-8 (and from
            then on, until `reset`).
        """
        if not self._valid:
            return False
        decoder = self._decoder
        if data.isascii() and not decoder.getstate()[0]:
            return True  # fast path: nothing pending, plain ASCII
        try:
            decoder.decode(data, final)
        except UnicodeDecodeError:
            self._valid = False
            return False
        pending = decoder.getstate()[0]
        # CPython's decoder accepts the start of an encoded surrogate (ED A0-BF)
        # and only fails on the next byte; it can never become valid, so fail now.
        if len(pending) >= 2 and pending[0] == 0xED and pending[1] >= 0xA0:
            self._valid = False
        return self._valid

    def reset(self) -> None:
        """Forget all input: ready for the next message."""
        self._decoder.reset()
        self._valid = True
