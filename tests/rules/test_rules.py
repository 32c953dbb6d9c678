"""Background rules with real clients: they answer alongside a script or a handler, in order,
before the next client frame is read, and are recorded."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import pytest
import websocket
import websockets

from pytest_wsmock import (
    ConfigError,
    ConnectionClosed,
    Direction,
    Frame,
    Message,
    MockServer,
    Rule,
    ServerFactory,
    Step,
    WebSocket,
    close,
    echo,
    expect_close,
    expect_json,
    expect_ping,
    expect_pong,
    expect_text,
    rule,
    send_json,
    send_ping,
    send_text,
    wait_for_release,
)

from ..scripts._support import TIMEOUT, sync_client

BACKENDS = ["asyncio", "trio"]
#: Repetitions of the tests whose outcome once could have depended on timing.
REPEAT = 20

PING = {"type": "ping"}
PONG = {"type": "pong"}


def is_ping(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "ping"


def websocket_client(url: str) -> websocket.WebSocket:
    """websocket-client with every socket operation bounded."""
    return websocket.create_connection(url, timeout=TIMEOUT)


# -- alongside a script ----------------------------------------------------------------------


@pytest.mark.parametrize("n", range(REPEAT))
@pytest.mark.parametrize("backend", BACKENDS)
def test_json_ping_answered_beside_a_script(
    ws_server_factory: ServerFactory, backend: str, n: int
) -> None:
    """A JSON ping rule answers pings wherever they come; the script's expectations never see
    them, and each answer is on the wire before the server reads the next message."""
    server = ws_server_factory(backend=backend)
    server.on(expect_json(PING), send_json(PONG))
    server.script(
        expect_json({"op": "subscribe"}),
        send_json({"op": "subscribed"}),
        expect_json({"op": "unsubscribe"}),
        send_json({"op": "done"}),
    )
    with sync_client(server.url) as client:
        # Everything sent at once: the script (a task of its own) answers when it gets there,
        # a rule before the server reads the next frame.
        for item in (PING, {"op": "subscribe"}, PING, PING, {"op": "unsubscribe"}, PING):
            client.send(json.dumps(item))
        answers = [json.loads(client.recv(timeout=TIMEOUT)) for _ in range(6)]
    assert answers.count(PONG) == 4
    assert [a for a in answers if a != PONG] == [{"op": "subscribed"}, {"op": "done"}]
    assert answers[0] == PONG
    conn = server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None
    assert conn.script is not None
    assert conn.script.done
    # In the record (which follows the wire), each ping's pong comes before the next client
    # frame: the reader answered before it read on.
    unanswered = None
    for frame in (f for f in conn.frames if f.opcode_name == "TEXT"):
        value = json.loads(frame.payload)
        if frame.direction is Direction.CLIENT:
            assert unanswered is None, f"the server read {value} before answering a ping"
            unanswered = value if value == PING else None
        elif value == PONG:
            unanswered = None
    assert [note for note in conn.notes if note.startswith("rule")] == [
        f"rule #0 expect_json({PING!r}) answered message #{k} ('{json.dumps(PING)}')"
        for k in (0, 2, 3, 5)
    ]


@pytest.mark.asyncio
async def test_callable_response_echoes_the_id(ws_server: MockServer) -> None:
    """A response function builds the answer from the matched message (aiohttp)."""

    def ack(message: Message | Frame) -> Step:
        assert isinstance(message, Message)
        return send_json({"type": "ack", "id": json.loads(message.text)["id"]})

    ws_server.on(expect_json({"type": "event"}, subset=True), ack)
    ws_server.script(expect_json({"type": "hello"}), send_json({"type": "welcome"}))
    timeout = aiohttp.ClientWSTimeout(ws_receive=TIMEOUT, ws_close=TIMEOUT)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_server.url, timeout=timeout) as ws,
    ):
        for sent, answer in (
            ({"type": "event", "id": "e1", "body": "x"}, {"type": "ack", "id": "e1"}),
            ({"type": "hello"}, {"type": "welcome"}),
            ({"type": "event", "id": "e2"}, {"type": "ack", "id": "e2"}),
        ):
            await ws.send_json(sent)
            assert await ws.receive_json() == answer
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert conn.script_failure is None


def test_times_then_the_script_gets_the_message(ws_server: MockServer) -> None:
    """times=2: the third match goes on to the script as if the rule were not there
    (websocket-client)."""
    ws_server.on(expect_text("knock"), send_text("who is there?"), times=2)
    ws_server.script(expect_text("knock"), send_text("enough"))
    client = websocket_client(ws_server.url)
    try:
        for _ in range(3):
            client.send("knock")
        assert [client.recv() for _ in range(3)] == ["who is there?", "who is there?", "enough"]
    finally:
        client.close()
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None
    assert sum(note.startswith("rule #0") for note in conn.notes) == 2


@pytest.mark.asyncio
async def test_consume_false_answers_and_passes_on(ws_server: MockServer) -> None:
    """consume=False: the rule answers, and the script still gets the message (websockets)."""
    ws_server.on(expect_text(re.compile("^log:")), send_text("logged"), consume=False)
    ws_server.script(expect_text("log: started"), send_text("seen by the script"))
    async with websockets.connect(
        ws_server.url, open_timeout=TIMEOUT, ping_interval=None, proxy=None
    ) as client:
        await client.send("log: started")
        assert [await client.recv() for _ in range(2)] == ["logged", "seen by the script"]
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert conn.script_failure is None


def test_connection_option(ws_server: MockServer) -> None:
    """connection=1: only the second connection gets the rule; the first gets the echo."""
    ws_server.handler(echo)
    ws_server.on(expect_text("hi"), send_text("rule"), connection=1)
    for expected in ("hi", "rule"):
        with sync_client(ws_server.url) as client:
            client.send("hi")
            assert client.recv(timeout=TIMEOUT) == expected
    first, second = ws_server.connections
    assert not any(note.startswith("rule") for note in first.notes)
    assert any(note.startswith("rule #0") for note in second.notes)


def test_rules_apply_to_connections_accepted_after(ws_server: MockServer) -> None:
    """A rule set while a connection is open does not change that connection."""
    ws_server.handler(echo)
    with sync_client(ws_server.url) as client:
        ws_server.wait_for_connection()
        ws_server.on(expect_text("hi"), send_text("rule"))
        client.send("hi")
        assert client.recv(timeout=TIMEOUT) == "hi"
    with sync_client(ws_server.url) as client:
        client.send("hi")
        assert client.recv(timeout=TIMEOUT) == "rule"


@pytest.mark.parametrize("backend", BACKENDS)
def test_conn_on_adds_a_rule_to_a_live_connection(
    ws_server_factory: ServerFactory, backend: str
) -> None:
    """conn.on(...) adds a rule to one open connection, from the next message on."""
    ws_server = ws_server_factory(backend=backend)
    ws_server.script(wait_for_release(), expect_text("after"), send_text("script"))
    with sync_client(ws_server.url) as client:
        conn = ws_server.wait_for_connection()
        made = conn.on(expect_text("status?"), send_text("ok"))
        assert isinstance(made, Rule)
        client.send("status?")
        assert client.recv(timeout=TIMEOUT) == "ok"
        ws_server.release()
        client.send("after")
        assert client.recv(timeout=TIMEOUT) == "script"
    conn.wait_closed()
    assert conn.script_failure is None
    assert "rule #0 expect_text('status?') answered message #0 ('status?')" in conn.notes


def test_conn_on_a_connection_that_never_opened(ws_server_factory: ServerFactory) -> None:
    """A connection whose handshake was refused takes no rule."""
    from pytest_wsmock import Handshake

    server = ws_server_factory(handshake=Handshake.reject(403))
    with pytest.raises(websockets.exceptions.InvalidStatus):
        sync_client(server.url)
    conn = server.wait_for_connection()
    with pytest.raises(ConnectionClosed, match="never opened"):
        conn.on(expect_text("x"), send_text("y"))


@pytest.mark.parametrize("n", range(REPEAT))
@pytest.mark.parametrize("backend", BACKENDS)
def test_expect_ping_trigger(ws_server_factory: ServerFactory, backend: str, n: int) -> None:
    """A rule on pings answers after the pong; a consumed ping is not seen by expect_ping."""
    server = ws_server_factory(backend=backend)
    server.on(expect_ping(b"app"), send_text("pinged"))
    server.script(expect_ping(b"other"), send_text("script"))
    client = websocket_client(server.url)
    try:
        client.ping(b"app")
        client.ping(b"other")
        seen = [client.recv_data_frame(control_frame=True)[1] for _ in range(4)]
    finally:
        client.close()
    assert [(f.opcode, f.data) for f in seen] == [
        (websocket.ABNF.OPCODE_PONG, b"app"),
        (websocket.ABNF.OPCODE_TEXT, b"pinged"),
        (websocket.ABNF.OPCODE_PONG, b"other"),
        (websocket.ABNF.OPCODE_TEXT, b"script"),
    ]
    conn = server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None
    assert "rule #0 expect_ping(b'app') answered ping #0 ('app')" in conn.notes


def test_expect_pong_trigger(ws_server: MockServer) -> None:
    """A rule on pongs: the answer to the server's ping is answered in turn."""
    ws_server.on(expect_pong(b"hb"), send_text("heartbeat ok"))
    ws_server.script(send_ping(b"hb"))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "heartbeat ok"


# -- alongside handlers ----------------------------------------------------------------------


@pytest.mark.parametrize("n", range(REPEAT))
@pytest.mark.parametrize("backend", BACKENDS)
def test_rule_with_the_echo_handler(ws_server_factory: ServerFactory, backend: str, n: int) -> None:
    """With echo (an inline handler), rules answer their messages and echo gets the rest."""
    server = ws_server_factory(backend=backend)
    server.handler(echo)
    server.on(expect_json(is_ping), send_json(PONG))
    with sync_client(server.url) as client:
        for text in ("a", json.dumps(PING), "b"):
            client.send(text)
        assert [client.recv(timeout=TIMEOUT) for _ in range(3)] == ["a", json.dumps(PONG), "b"]


@pytest.mark.asyncio
async def test_rule_with_a_handler(ws_server: MockServer) -> None:
    """A task handler gets only what the rules leave it."""
    got: list[str] = []

    @ws_server.handler
    async def collect(ws: WebSocket) -> None:
        async for message in ws:
            got.append(message.text)
            await ws.send_text(f"handler: {message.text}")

    ws_server.on(expect_json(PING), send_json(PONG))
    async with websockets.connect(
        ws_server.url, open_timeout=TIMEOUT, ping_interval=None, proxy=None
    ) as client:
        await client.send(json.dumps(PING))
        assert json.loads(await client.recv()) == PONG
        await client.send("work")
        assert await client.recv() == "handler: work"
    conn = await ws_server.connection()
    await conn.wait_closed_async()
    assert got == ["work"]
    assert conn.received_texts == [json.dumps(PING), "work"]  # the record has both


@pytest.mark.wsmock(rules=[rule(expect_json(PING), send_json(PONG))])
def test_marker_rules_come_first(ws_server: MockServer) -> None:
    """The marker's rules apply to every connection, before those of on()."""
    ws_server.on(expect_json(PING), send_json({"type": "not me"}))
    ws_server.on(expect_text("other"), send_text("second rule"))
    with sync_client(ws_server.url) as client:
        client.send(json.dumps(PING))
        assert json.loads(client.recv(timeout=TIMEOUT)) == PONG
        client.send("other")
        assert client.recv(timeout=TIMEOUT) == "second rule"
    conn = ws_server.wait_for_connection()
    assert [note.split(" answered")[0] for note in conn.notes if note.startswith("rule")] == [
        f"rule #0 expect_json({PING!r})",
        "rule #2 expect_text('other')",
    ]


def test_factory_rules(ws_server_factory: ServerFactory) -> None:
    """ws_server_factory(rules=[...]) and ServerOptions.rules."""
    server = ws_server_factory(rules=[rule(expect_text("x"), send_text("y"))])
    assert isinstance(server.options.rules, tuple)
    with sync_client(server.url) as client:
        client.send("x")
        assert client.recv(timeout=TIMEOUT) == "y"


# -- the connection's end --------------------------------------------------------------------


def test_close_response(ws_server: MockServer) -> None:
    """close(...) as a response runs the closing handshake from the reading task; a later
    response is skipped with a note, like a script's send after the close."""
    ws_server.on(expect_text("bye"), close(4000, "see you"), send_text("too late"))
    ws_server.script(expect_close(4000))
    with sync_client(ws_server.url) as client:
        client.send("bye")
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            client.recv(timeout=TIMEOUT)
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    assert (info.server_code, info.client_code, info.clean) == (4000, 4000, True)
    assert conn.script_failure is None
    assert "rule #0: send_text('too late') skipped, the connection had ended" in conn.notes
    assert [m.text for m in conn.sent] == []


# -- mistakes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "says"),
    [
        (("hello", send_text("x")), {}, "trigger must be an expect_"),
        ((expect_close(), send_text("x")), {}, "trigger must be an expect_"),
        ((send_text("x"), send_text("x")), {}, "trigger must be an expect_"),
        ((expect_text("a"), "reply"), {}, "must be a step"),
        ((expect_text("a"), expect_text("b")), {}, "waits for the client"),
        ((expect_text("a"), send_text("b")), {"times": 0}, "times must be an int >= 1"),
        ((expect_text("a"), send_text("b")), {"times": True}, "times must be an int >= 1"),
    ],
)
def test_rule_mistakes(args: tuple[Any, ...], kwargs: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        rule(*args, **kwargs)


def test_on_checks_like_rule(ws_server: MockServer) -> None:
    with pytest.raises(ConfigError, match="times must be"):
        ws_server.on(expect_text("a"), send_text("b"), times=-1)


def test_rules_option_checked(ws_server_factory: ServerFactory) -> None:
    with pytest.raises(ConfigError, match="wsmock option rules must be a list of rules"):
        ws_server_factory(rules=[expect_text("x")])


def test_describe() -> None:
    def answer(message: Message | Frame) -> None:
        return None

    made = rule(expect_json(PING), send_json(PONG), answer, times=2, consume=False)
    assert made.describe() == (
        f"rule(expect_json({PING!r}), send_json('{json.dumps(PONG)}'), <function answer>, "
        f"times=2, consume=False)"
    )
    assert repr(made) == made.describe()
