"""From records to a cassette: a relayed connection's upstream leg (or the refusal the
upstream answered) as a :class:`CassetteConnection`.

The upstream leg is the real conversation: its request is what the upstream was sent, its
events what crossed the upstream's wire (a message the proxy answered itself, or a fault on
the client's leg, is not in it). Times are seconds from the first byte of the answer, or from
the start of the leg when it has no answer.
"""

from __future__ import annotations

from ._cassette import (
    CassetteClose,
    CassetteConnection,
    CassetteEvent,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
    Kind,
    Side,
)
from ._connection import ConnectionRecord
from ._protocol import Opcode, Request
from ._records import Direction, HandshakeResponse


def _side(direction: Direction) -> Side:
    return "client" if direction is Direction.CLIENT else "server"


def _request(request: Request) -> CassetteRequest:
    return CassetteRequest(request.target, request.headers.items, tuple(request.subprotocols))


def _response(
    response: HandshakeResponse, subprotocol: str | None, extensions: str | None
) -> CassetteResponse:
    return CassetteResponse(
        response.status,
        response.reason,
        response.headers.items,
        b"" if response.status == 101 else response.body,
        subprotocol,
        extensions,
    )


def refused(request: CassetteRequest, response: HandshakeResponse) -> CassetteConnection:
    """A request the upstream refused (a status other than 101), with its answer."""
    return CassetteConnection(request, _response(response, None, None))


def from_record(record: ConnectionRecord) -> CassetteConnection | None:
    """The cassette form of an upstream leg's record; ``None`` when it has no request and
    answer (the upstream was never reached)."""
    request, response = record.request, record.response
    if request is None or response is None:
        return None
    start = record.accepted_at
    events: list[tuple[float, int, CassetteEvent]] = []
    for number, message in enumerate(record.messages):
        data: str | bytes = message.text if message.opcode == Opcode.TEXT else message.data
        kind: Kind = "text" if message.opcode == Opcode.TEXT else "binary"
        side = _side(message.direction)
        events.append(
            (message.time, number, CassetteMessage(side, kind, data, _at(message.time, start)))
        )
    sides_closed: set[Side] = set()
    for frame in record.frames:
        side = _side(frame.direction)
        if frame.opcode != Opcode.CLOSE or side in sides_closed:
            continue
        sides_closed.add(side)
        payload = frame.payload
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
        reason = payload[2:].decode("utf-8", errors="replace")
        close = CassetteClose(side, code, reason, _at(frame.time, start))
        events.append((frame.time, len(events), close))
    info = record.close
    if info is not None and not sides_closed and info.initiator is None:
        # TCP ended with no close frame from either side: say who ended it.
        ended = _side(info.tcp_closed_by)
        last = max((at for at, _, _ in events), default=start)
        events.append(
            (last, len(events), CassetteClose(ended, None, "", _at(last, start), frame=False))
        )
    events.sort(key=lambda item: (item[0], item[1]))
    return CassetteConnection(
        _request(request),
        _response(response, record.subprotocol, record.extensions),
        tuple(event for _, _, event in events),
    )


def _at(moment: float, start: float) -> float:
    return round(max(0.0, moment - start), 3)
