"""Cassettes built in code (the data model of ``_cassette.py``) for the replay tests."""

from __future__ import annotations

from pytest_wsmock._cassette import (
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteEvent,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
    MatchRules,
)

OK = CassetteResponse(101, "Switching Protocols")


def client(data: str | bytes, time: float = 0.0) -> CassetteMessage:
    """A message the client sent."""
    return CassetteMessage("client", "text" if isinstance(data, str) else "binary", data, time)


def server(data: str | bytes, time: float = 0.0) -> CassetteMessage:
    """A message the server sent."""
    return CassetteMessage("server", "text" if isinstance(data, str) else "binary", data, time)


def closed_by(
    side: str, code: int | None = 1000, reason: str = "", time: float = 0.0, frame: bool = True
) -> CassetteClose:
    """A close frame (or, with ``frame=False``, the end of TCP) from ``side``."""
    assert side in ("client", "server")
    return CassetteClose(side, code, reason, time, frame)  # type: ignore[arg-type]


def connection(
    *events: CassetteEvent,
    path: str = "/",
    response: CassetteResponse = OK,
    subprotocols: tuple[str, ...] = (),
) -> CassetteConnection:
    """One recorded connection."""
    return CassetteConnection(CassetteRequest(path, (), subprotocols), response, tuple(events))


def cassette(*connections: CassetteConnection, match: MatchRules | None = None) -> Cassette:
    """A cassette of these connections."""
    return Cassette(tuple(connections), match or MatchRules())


#: A small trading conversation: the client says hello, the server welcomes it, the client
#: subscribes, the server sends two ticks, the client closes.
TRADING = connection(
    client("hello", 0.010),
    server("welcome", 0.012),
    client('{"op": "subscribe", "symbol": "BTC", "id": 7}', 0.020),
    server('{"tick": 1}', 0.030),
    server('{"tick": 2}', 0.040),
    closed_by("client", 1000, time=0.050),
    closed_by("server", 1000, time=0.051),
    path="/trade",
)
