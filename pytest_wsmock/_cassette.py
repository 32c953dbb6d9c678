"""Cassettes: a recorded WebSocket conversation as plain data (docs/record-replay.md).

A :class:`Cassette` holds connections; each has the client's opening request, the answer
that came back, and the events of the connection in wire order: messages both ways and the
close frame of each side, with times relative to the moment the connection opened. The file
form (JSON, stable ordering, one file per test) is written and read by ``_cassette_io``; HAR
interchange is ``_har``. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: Who sent a message or a close frame.
Side = Literal["client", "server"]
#: A data message's kind.
Kind = Literal["text", "binary"]

#: The file format's version, written into every cassette.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CassetteRequest:
    """The client's opening request as relayed upstream.

    Attributes:
        path: the request target: path and query (``/ticker?symbol=BTC``), after filtering.
        headers: the request's headers in order, after filtering (``Sec-WebSocket-Key`` and
            credentials are filtered by default).
        subprotocols: the subprotocols the client offered, in order.
    """

    path: str
    headers: tuple[tuple[str, str], ...] = ()
    subprotocols: tuple[str, ...] = ()


@dataclass(frozen=True)
class CassetteResponse:
    """The upstream's answer to the opening request.

    Attributes:
        status: ``101`` when the connection opened, else the status that refused it.
        reason: the reason phrase.
        headers: the response's headers in order, after filtering.
        body: the body of a refusal (``b""`` for a 101).
        subprotocol: the subprotocol the upstream chose, if any.
        extensions: the ``Sec-WebSocket-Extensions`` value it answered, if any.
    """

    status: int
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    subprotocol: str | None = None
    extensions: str | None = None


@dataclass(frozen=True)
class CassetteMessage:
    """One data message of a recorded connection.

    Attributes:
        side: who sent it.
        kind: ``"text"`` or ``"binary"``.
        data: the message (``str`` for text, ``bytes`` for binary), after filtering.
        time: seconds from the connection's opening to this message.
    """

    side: Side
    kind: Kind
    data: str | bytes
    time: float


@dataclass(frozen=True)
class CassetteClose:
    """One side's close frame, or the end of TCP without one (``code`` ``None``, ``frame``
    ``False``).

    Attributes:
        side: who closed.
        code: the close code (``None``: no code in the frame, or no frame).
        reason: the close reason.
        time: seconds from the connection's opening.
        frame: whether a close frame was sent (``False``: TCP ended without one).
    """

    side: Side
    code: int | None
    reason: str
    time: float
    frame: bool = True


#: One event of a connection, in wire order.
CassetteEvent = CassetteMessage | CassetteClose


@dataclass(frozen=True)
class CassetteConnection:
    """One recorded connection: the request, the answer, and the events in wire order."""

    request: CassetteRequest
    response: CassetteResponse
    events: tuple[CassetteEvent, ...] = ()

    @property
    def messages(self) -> list[CassetteMessage]:
        """The data messages, both ways, in order."""
        return [event for event in self.events if isinstance(event, CassetteMessage)]


@dataclass(frozen=True)
class MatchRules:
    """How replay compares a client's message with the recorded one (exact by default).

    Attributes:
        ignore: JSON paths whose values may differ (``$.id``, ``$.params.ts``,
            ``$.items[*].nonce``): for JSON messages, those values are not compared.
        replace: ``(regex, replacement)`` pairs applied with ``re.sub`` to the recorded and
            the received text alike before they are compared (``(r'"ts":\\d+', '"ts":0')``).
    """

    ignore: tuple[str, ...] = ()
    replace: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Cassette:
    """A recorded conversation: connections in the order they opened, and how replay
    matches client messages (kept when a cassette is recorded again)."""

    connections: tuple[CassetteConnection, ...] = ()
    match: MatchRules = field(default_factory=MatchRules)
    version: int = FORMAT_VERSION


__all__ = [
    "FORMAT_VERSION",
    "Cassette",
    "CassetteClose",
    "CassetteConnection",
    "CassetteEvent",
    "CassetteMessage",
    "CassetteRequest",
    "CassetteResponse",
    "Kind",
    "MatchRules",
    "Side",
]
