"""Protocol violations as values: what the peer did wrong, and how a server answers it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Violation"]


@dataclass(frozen=True, slots=True)
class Violation:
    """A protocol rule the peer broke, as a value (never raised through the I/O layer).

    The protocol core returns violations instead of raising, so the I/O layer can
    record them, answer with the right close code or HTTP status, and keep going
    when the rule allows it (``fatal=False``).

    Attributes:
        kind: Stable kebab-case identifier, e.g. ``"unmasked-frame"``,
            ``"invalid-utf8"``, ``"headers-too-large"``.
        detail: Human text: what was wrong and what was seen instead.
        rfc: The rule broken, e.g. ``"RFC 6455 section 5.1"``.
        close_code: Close code a server sends for it (frame-level violations).
        status: HTTP status a server answers with (handshake violations).
        fatal: Whether the RFC says the connection must be failed.
        limit: The server's own limit was exceeded (``frame-too-large``,
            ``message-too-big``, ``headers-too-large``, ``request-line-too-long``):
            the client broke no rule, so strict mode need not fail it.
    """

    kind: str
    detail: str
    rfc: str
    close_code: int | None = None
    status: int | None = None
    fatal: bool = True
    limit: bool = False

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail} ({self.rfc})"
