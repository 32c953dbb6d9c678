"""Matching the client's pongs with the server's pings (RFC 6455 section 5.5.3)."""

from __future__ import annotations

import time

from ._protocol import Violation


class PingTracker:
    """The server's pings not answered yet, and the pongs that answered none of them.

    A pong may answer only the most recent of several pings, so one that echoes any
    outstanding ping settles it and every earlier one. One that echoes none may be an
    unsolicited heartbeat, which is legal; it is kept, and judged when the connection ends.
    """

    def __init__(self) -> None:
        self.outstanding: list[tuple[bytes, float]] = []
        self.stray: list[tuple[bytes, float]] = []

    def sent(self, payload: bytes) -> None:
        """The server is about to send a ping with this payload."""
        self.outstanding.append((payload, time.monotonic()))

    def pong(self, payload: bytes) -> None:
        """The client sent a pong with this payload."""
        for index in range(len(self.outstanding) - 1, -1, -1):
            if self.outstanding[index][0] == payload:
                del self.outstanding[: index + 1]
                return
        self.stray.append((payload, time.monotonic()))

    def unanswered(self) -> Violation | None:
        """At the end: a ping never echoed, though the client sent a pong after it, was
        answered wrongly."""
        if not self.outstanding:
            return None
        ping, sent = self.outstanding[0]
        answers = [pong for pong, at in self.stray if at >= sent]
        if not answers:
            return None
        return Violation(
            "pong-mismatch",
            f"the client answered the server's ping {ping!r} with a pong carrying "
            f"{answers[0]!r}, and no pong ever echoed {ping!r}",
            "RFC 6455 section 5.5.3",
            close_code=None,
            status=None,
            fatal=False,
        )
