"""Replay's checks of the client: a changed message fails with a readable explanation, match
rules allow what they name, and rules and faults still apply during a replay."""

from __future__ import annotations

import json

import pytest
import websocket
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from pytest_wsmock import (
    ConfigError,
    Fault,
    Handshake,
    MockServer,
    ScriptError,
    ServerFactory,
    expect_json,
    expect_text,
    send_json,
)
from pytest_wsmock._cassette import MatchRules

from ..scripts._support import TIMEOUT, script_failure, sync_client
from ._cassettes import TRADING, cassette, client, closed_by, connection, server

BACKENDS = ["asyncio", "trio"]
SUBSCRIBE = '{"op": "subscribe", "symbol": "BTC", "id": 7}'


def test_changed_json_message_fails_with_its_path(ws_server: MockServer) -> None:
    """A client message that differs from the recording stops the replay: the ScriptError
    names the recorded connection and message, both messages and the first JSON difference;
    nothing recorded after it is sent."""
    ws_server.replay(cassette(TRADING))
    with sync_client(ws_server.url_for("/trade")) as ws:
        ws.send("hello")
        assert ws.recv(timeout=TIMEOUT) == "welcome"
        ws.send('{"op": "subscribe", "symbol": "ETH", "id": 7}')
        text = script_failure(ws_server)
    assert text.startswith(
        "connection #0 (GET /trade): script step 3 of 6, replay client message #1 (text "
        f"{SUBSCRIBE!r}): cassette connection #0, client message #1: expected text "
        f"{SUBSCRIBE!r}, received text "
        """'{"op": "subscribe", "symbol": "ETH", "id": 7}'\n"""
        '  JSON differs at $.symbol: recorded "BTC", received "ETH"\n'
    ), text
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert [m.value for m in conn.sent] == ["welcome"]


def test_changed_text_message_shows_a_diff(ws_server: MockServer) -> None:
    """Text that is not JSON is explained with a unified diff of recorded against received."""
    ws_server.replay(cassette(connection(client("line one\nline two"), server("ok"))))
    with sync_client(ws_server.url) as ws:
        ws.send("line one\nline 2")
        text = script_failure(ws_server)
    diff = (
        "  --- recorded\n  +++ received\n  @@ -1,2 +1,2 @@\n   line one\n  -line two\n  +line 2\n"
    )
    assert diff in text


def test_wrong_kind_and_bytes(ws_server: MockServer) -> None:
    """A binary message where text was recorded, and binary that differs, are explained."""
    ws_server.replay(
        cassette(
            connection(client("text"), server("a")),
            connection(client(b"\x00\x01\x02"), server("b")),
        )
    )
    with sync_client(ws_server.url) as ws:
        ws.send(b"text")
        first = script_failure(ws_server)
    assert "expected a text message, received a binary message" in first
    with sync_client(ws_server.url) as ws:
        ws.send(b"\x00\x09\x02\x03")
        with pytest.raises(ScriptError) as caught:
            ws_server.wait_for_connection(99, timeout=TIMEOUT)  # fails fast on the failure
    assert "binary data differs at byte 1 (recorded 3 bytes, received 4 bytes)" in str(caught.value)


def test_missing_client_message_is_unmet(ws_server: MockServer) -> None:
    """A client that leaves before a recorded message leaves the expectation unmet."""
    ws_server.replay(cassette(connection(server("hi"), client("bye"))))
    with sync_client(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == "hi"
    text = script_failure(ws_server)
    assert (
        "script step 2 of 2, replay client message #0 (text 'bye'): cassette connection #0, "
        "client message #0: expected text 'bye', the connection closed first"
    ) in text


def test_match_rules_ignore_and_replace(ws_server: MockServer) -> None:
    """The cassette's MatchRules: ignored JSON paths and regex replacements may differ."""
    rules = MatchRules(ignore=("$.id", "$.items[*].nonce"), replace=((r"ts=\d+", "ts=0"),))
    recorded = '{"op": "buy", "id": 1, "items": [{"n": 1, "nonce": "a"}, {"n": 2, "nonce": "b"}]}'
    ws_server.replay(
        cassette(connection(client(recorded), client("at ts=123"), server("done")), match=rules)
    )
    with sync_client(ws_server.url) as ws:
        ws.send(
            json.dumps(
                {"op": "buy", "id": 99, "items": [{"n": 1, "nonce": "x"}, {"n": 2, "nonce": "y"}]}
            )
        )
        ws.send("at ts=987")
        assert ws.recv(timeout=TIMEOUT) == "done"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None


def test_match_argument_overrides_the_cassettes(ws_server: MockServer) -> None:
    """replay(match=...) replaces the cassette's rules: here, exact again."""
    loose = cassette(connection(client('{"id": 1}'), server("ok")), match=MatchRules(("$.id",)))
    ws_server.replay(loose, match=MatchRules())
    with sync_client(ws_server.url) as ws:
        ws.send('{"id": 2}')
        text = script_failure(ws_server)
    assert "JSON differs at $.id: recorded 1, received 2" in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_rule_answers_beside_a_replay(ws_server_factory: ServerFactory, backend: str) -> None:
    """A ws_server.on(...) rule (consume=True) answers keep-alives the recording does not
    have; the replay never sees them."""
    ws_server = ws_server_factory(backend=backend)
    ws_server.on(expect_json({"type": "ping"}), send_json({"type": "pong"}))
    ws_server.replay(cassette(TRADING))
    ping = json.dumps({"type": "ping"})
    with sync_client(ws_server.url_for("/trade")) as ws:
        ws.send(ping)
        assert json.loads(ws.recv(timeout=TIMEOUT)) == {"type": "pong"}
        ws.send("hello")
        assert ws.recv(timeout=TIMEOUT) == "welcome"
        ws.send(ping)
        assert json.loads(ws.recv(timeout=TIMEOUT)) == {"type": "pong"}
        ws.send(SUBSCRIBE)
        assert [ws.recv(timeout=TIMEOUT), ws.recv(timeout=TIMEOUT)] == [
            '{"tick": 1}',
            '{"tick": 2}',
        ]
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None
    assert conn.received_texts == [ping, "hello", ping, SUBSCRIBE]
    assert sum(note.startswith("rule #0") for note in conn.notes) == 2


def test_rule_with_a_fault_during_a_replay(ws_server: MockServer) -> None:
    """A rule whose response is a transport fault (throttled writes) changes the rest of the
    replayed connection; the messages still arrive intact (websocket-client)."""
    ws_server.on(expect_text("slow down"), Fault.throttle(4, 0.001))
    long = "x" * 200
    ws_server.replay(cassette(connection(client("go"), server(long), server("end"))))
    ws = websocket.create_connection(ws_server.url, timeout=TIMEOUT)
    try:
        ws.send("slow down")
        ws.send("go")
        assert [ws.recv(), ws.recv()] == [long, "end"]
    finally:
        ws.close()
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None
    assert any("throttle" in note for note in conn.notes), conn.notes


@pytest.mark.parametrize("backend", BACKENDS)
def test_handshake_fault_then_replay(ws_server_factory: ServerFactory, backend: str) -> None:
    """ws_server.handshake(Fault.reset(), Handshake.accept()): the first attempt is reset and
    uses up no recorded connection; the retry gets cassette connection #0."""
    ws_server = ws_server_factory(backend=backend)
    ws_server.handshake(Fault.reset(), Handshake.accept())
    replay = ws_server.replay(cassette(TRADING))
    with pytest.raises((InvalidHandshake, ConnectionClosed, OSError)), sync_client(ws_server.url):
        pass
    with sync_client(ws_server.url_for("/trade")) as ws:
        ws.send("hello")
        assert ws.recv(timeout=TIMEOUT) == "welcome"
        ws.send(SUBSCRIBE)
        assert [ws.recv(timeout=TIMEOUT), ws.recv(timeout=TIMEOUT)] == [
            '{"tick": 1}',
            '{"tick": 2}',
        ]
    first = ws_server.wait_for_connection(0)
    assert first.wait_closed().tcp_end == "rst"
    assert first.notes[0] == (
        "replay: not replayed, the handshake outcome 'fault-reset' (ws_server.handshake) "
        "answers this connection; the next one gets cassette connection #0"
    )
    second = ws_server.wait_for_connection(1)
    second.wait_closed()
    assert second.script_failure is None
    assert replay.unplayed() == []


def test_delayed_handshake_outcome_applies_to_the_recorded_answer(ws_server: MockServer) -> None:
    """An accepting outcome's delay (Fault.stall(...) during the handshake) delays the
    recorded answer; the answer itself is the recording's."""
    ws_server.handshake(Fault.stall(0.1))
    ws_server.replay(cassette(connection(server("late hello"))))
    with sync_client(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == "late hello"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.handshake.id == "replay"
    assert conn.handshake.delay == 0.1


def test_config_errors(ws_server: MockServer) -> None:
    """Bad arguments say what was wrong and how to write it."""
    with pytest.raises(ConfigError, match="timing must be 'immediate'"):
        ws_server.replay(cassette(TRADING), timing="fast")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="takes a Cassette"):
        ws_server.replay([TRADING])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"'items\.nonce' is not a JSON path"):
        ws_server.replay(cassette(TRADING), match=MatchRules(ignore=("items.nonce",)))
    with pytest.raises(ConfigError, match=r"match rule replace .* is not valid: missing \)"):
        ws_server.replay(cassette(TRADING), match=MatchRules(replace=(("(", "x"),)))
    with pytest.raises(ConfigError, match="takes MatchRules"):
        ws_server.replay(cassette(TRADING), match={"ignore": []})  # type: ignore[arg-type]


def test_client_that_drops_tcp_leaves_nothing_to_expect(ws_server: MockServer) -> None:
    """A recorded client that ended TCP without a close frame: the replay ends after the
    events before it and owes nothing."""
    ws_server.replay(
        cassette(connection(server("hi"), closed_by("client", None, time=0.1, frame=False)))
    )
    with sync_client(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == "hi"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script is not None
    assert conn.script.steps == ("send_text('hi')",)
    assert conn.script_failure is None
