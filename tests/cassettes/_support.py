"""Cassettes built in code for the cassette tests."""

from __future__ import annotations

from pytest_wsmock._cassette import (
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
    MatchRules,
)

TOKEN = "tok-9f8e7d6c5b4a"


def opened() -> CassetteConnection:
    """A connection with every event form: JSON text, plain text, binary, unicode, closes."""
    return CassetteConnection(
        request=CassetteRequest(
            path="/feed?symbol=BTC&x=%C3%A9",
            headers=(
                ("Host", "127.0.0.1:9001"),
                ("Upgrade", "websocket"),
                ("Sec-WebSocket-Protocol", "feed.v2, feed.v1"),
            ),
            subprotocols=("feed.v2", "feed.v1"),
        ),
        response=CassetteResponse(
            status=101,
            reason="Switching Protocols",
            headers=(
                ("Upgrade", "websocket"),
                ("Sec-WebSocket-Protocol", "feed.v2"),
                ("Sec-WebSocket-Extensions", "permessage-deflate"),
            ),
            subprotocol="feed.v2",
            extensions="permessage-deflate",
        ),
        events=(
            CassetteMessage("client", "text", '{"op":"subscribe","symbol":"BTC"}', 0.0124),
            CassetteMessage("server", "text", "héllo ✓ wörld", 0.02),
            CassetteMessage("server", "binary", b"\x00\x01\xfe\xff", 0.031),
            CassetteMessage("server", "text", '{"a": 1}', 0.04),
            CassetteMessage("client", "text", "", 0.05),
            CassetteClose("client", 1000, "bye", 0.5),
            CassetteClose("server", 1000, "", 0.501),
        ),
    )


def refused() -> CassetteConnection:
    """A refused connection whose body is not UTF-8."""
    return CassetteConnection(
        request=CassetteRequest(path="/private"),
        response=CassetteResponse(
            status=403,
            reason="Forbidden",
            headers=(("Content-Type", "application/octet-stream"),),
            body=b"\xff\xfeno",
        ),
    )


def sample() -> Cassette:
    return Cassette(
        connections=(opened(), refused()),
        match=MatchRules(ignore=("$.id",), replace=((r'"ts":\d+', '"ts":0'),)),
    )
