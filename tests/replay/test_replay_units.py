"""Replay without sockets: the handshake and steps it builds."""

from __future__ import annotations

from pytest_wsmock import AUTO
from pytest_wsmock._cassette import CassetteResponse
from pytest_wsmock._protocol import Request, RequestParser
from pytest_wsmock._replay import Replay, ReplayClose, ReplayExpect

from ._cassettes import TRADING, cassette, client, closed_by, connection, server


def request(
    target: str = "/", subprotocols: str | None = None, extensions: str | None = None
) -> Request:
    lines = [
        f"GET {target} HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
    if subprotocols:
        lines.append(f"Sec-WebSocket-Protocol: {subprotocols}")
    if extensions:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    parsed = RequestParser().feed(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(parsed, Request)
    return parsed


def test_steps_in_recorded_order() -> None:
    """Client messages become expectations, server messages sends; the first close ends it."""
    replay = Replay(cassette(TRADING))
    chosen = replay.behaviour_for(0, request("/trade"))
    assert chosen is not None
    handshake, steps = chosen
    assert handshake.accepts
    assert [step.describe() for step in steps] == [
        "replay client message #0 (text 'hello')",
        "send_text('welcome')",
        """replay client message #1 (text '{"op": "subscribe", "symbol": "BTC", "id": 7}')""",
        """send_text('{"tick": 1}')""",
        """send_text('{"tick": 2}')""",
        "replay client close(1000)",
    ]
    assert isinstance(steps[0], ReplayExpect)
    assert isinstance(steps[-1], ReplayClose)
    assert [step.expects for step in steps] == [True, False, True, False, False, True]
    assert replay.behaviour_for(1, request("/trade")) is None
    assert replay.unplayed() == []


def test_recorded_timing_adds_waits() -> None:
    """timing="recorded": a wait of the gap since the previous event before each server
    event (none for a zero gap)."""
    recorded = connection(
        server("a", 0.0),
        client("b", 0.1),
        server("c", 0.25),
        server("d", 0.25),
        closed_by("server", 4000, "bye", 0.5),
    )
    chosen = Replay(cassette(recorded), timing="recorded").behaviour_for(0, request())
    assert chosen is not None
    assert [step.describe() for step in chosen[1]] == [
        "send_text('a')",
        "replay client message #0 (text 'b')",
        "wait(0.15)",
        "send_text('c')",
        "send_text('d')",
        "wait(0.25)",
        "close(4000, 'bye')",
    ]


def test_handshake_of_a_101() -> None:
    """The recorded subprotocol (offered), deflate negotiated for this client's offer, the
    recorded extra headers but not the handshake's own."""
    response = CassetteResponse(
        101,
        "Switching Protocols",
        (("Upgrade", "websocket"), ("Sec-WebSocket-Accept", "FILTERED"), ("X-Server", "real")),
        subprotocol="b",
        extensions="permessage-deflate",
    )
    replay = Replay(cassette(connection(response=response)))
    chosen = replay.behaviour_for(0, request("/", "a, b", "permessage-deflate"))
    assert chosen is not None
    handshake = chosen[0]
    assert (handshake.subprotocol, handshake.extensions) == ("b", AUTO)
    assert handshake.headers == (("X-Server", "real"),)
    assert replay.notes_for(0) == []


def test_handshake_of_a_refusal() -> None:
    """A refusal keeps status, reason, headers (not Content-Length) and body; no steps."""
    response = CassetteResponse(
        401, "Unauthorized", (("WWW-Authenticate", "Bearer"), ("Content-Length", "2")), b"no"
    )
    chosen = Replay(cassette(connection(client("x"), response=response))).behaviour_for(
        0, request()
    )
    assert chosen is not None
    handshake, steps = chosen
    assert (handshake.status, handshake.reason, handshake.body) == (401, "Unauthorized", b"no")
    assert handshake.headers == (("WWW-Authenticate", "Bearer"),)
    assert handshake.id == "replay-401"
    assert steps == ()
