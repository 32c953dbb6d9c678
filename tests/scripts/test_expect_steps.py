"""The expecting steps of a script: what matches, and the message when nothing does."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest
import websockets

from pytest_wsmock import (
    MockServer,
    Step,
    expect_binary,
    expect_close,
    expect_json,
    expect_message,
    expect_ping,
    expect_pong,
    expect_text,
    send_ping,
    send_text,
)

from ._support import TIMEOUT, assert_frame_listed, script_failure, sync_client

#: How long an expectation waits in the tests where nothing matching comes.
SHORT = 0.2


def is_greeting(text: str) -> bool:
    """A predicate for expect_text."""
    return text.lower().startswith("hello")


def test_expect_text_exact_regex_and_predicate(ws_server: MockServer) -> None:
    """expect_text matches an equal str, a compiled regex or a predicate."""
    ws_server.script(
        expect_text("hello"),
        send_text("1"),
        expect_text(re.compile(r"id=\d+")),
        send_text("2"),
        expect_text(is_greeting),
        send_text("3"),
    )
    with sync_client(ws_server.url) as client:
        for sent, reply in (("hello", "1"), ("user id=42 here", "2"), ("HELLO there", "3")):
            client.send(sent)
            assert client.recv(timeout=TIMEOUT) == reply
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert conn.script_failure is None
    assert conn.received_texts == ["hello", "user id=42 here", "HELLO there"]


def test_expect_binary(ws_server: MockServer) -> None:
    """expect_binary matches bytes exactly, by a bytes regex, or by a predicate."""
    ws_server.script(
        expect_binary(b"\x00\x01"),
        expect_binary(re.compile(rb"^\xff+$")),
        expect_binary(lambda data: len(data) == 3),
        send_text("done"),
    )
    with sync_client(ws_server.url) as client:
        for data in (b"\x00\x01", b"\xff\xff", b"abc"):
            client.send(data)
        assert client.recv(timeout=TIMEOUT) == "done"


@pytest.mark.asyncio
async def test_expect_json_exact_and_subset(ws_server: MockServer) -> None:
    """expect_json matches equal JSON, a subset (subset=True) or a predicate."""
    ws_server.script(
        expect_json({"op": "auth", "token": "t"}),
        expect_json({"op": "subscribe", "args": {"channel": "trades"}}, subset=True),
        expect_json(lambda value: value["n"] > 2),
        send_text("subscribed"),
    )
    async with websockets.connect(
        ws_server.url, open_timeout=TIMEOUT, ping_interval=None, proxy=None
    ) as client:
        await client.send(json.dumps({"token": "t", "op": "auth"}))
        await client.send(
            json.dumps({"op": "subscribe", "id": 7, "args": {"channel": "trades", "depth": 5}})
        )
        await client.send(json.dumps({"n": 3}))
        assert await client.recv() == "subscribed"
    conn = await ws_server.connection(timeout=TIMEOUT)
    await conn.wait_closed_async(timeout=TIMEOUT)
    assert conn.received_json[1]["id"] == 7


def test_expect_message_text_or_binary(ws_server: MockServer) -> None:
    """expect_message matches text as str and binary as bytes."""
    ws_server.script(expect_message("t"), expect_message(b"b"), send_text("both"))
    with sync_client(ws_server.url) as client:
        client.send("t")
        client.send(b"b")
        assert client.recv(timeout=TIMEOUT) == "both"


def test_expect_ping_and_pong_with_payload(ws_server: MockServer) -> None:
    """expect_ping skips pings with another payload; expect_pong waits for the answer."""
    ws_server.script(
        expect_ping(b"second"),
        send_ping(b"srv"),
        expect_pong(b"srv"),
        send_text("now ping"),
        expect_ping(),
        send_text("ok"),
    )
    with sync_client(ws_server.url) as client:
        assert client.ping(b"first").wait(TIMEOUT)
        assert client.ping(b"second").wait(TIMEOUT)
        assert client.recv(timeout=TIMEOUT) == "now ping"
        assert client.ping(b"third").wait(TIMEOUT)
        assert client.recv(timeout=TIMEOUT) == "ok"
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert conn.pings == [b"first", b"second", b"third"]
    assert conn.pongs == [b"srv"]
    assert conn.script_failure is None


@pytest.mark.asyncio
async def test_expect_pong_leaves_pings_for_expect_ping() -> None:
    """A ping that comes while expect_pong waits is left for a later expect_ping."""
    # A server of its own, checked at the end of the test rather than at teardown.
    async with MockServer() as server:
        server.script(
            send_ping(b"srv"),
            expect_pong(b"srv"),
            expect_ping(b"cli", timeout=SHORT),
            send_text("done"),
        )
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(server.url, autoping=False) as ws,
        ):
            ping = await ws.receive(timeout=TIMEOUT)
            assert (ping.type, ping.data) == (aiohttp.WSMsgType.PING, b"srv")
            await ws.ping(b"cli")  # comes while the script waits for the pong
            await ws.pong(b"srv")
            reply = await ws.receive(timeout=TIMEOUT)
            assert (reply.type, reply.data) == (aiohttp.WSMsgType.PONG, b"cli")
            assert await ws.receive_str(timeout=SHORT * 5) == "done"
    server.check()


def test_expect_close(ws_server: MockServer) -> None:
    """expect_close(code) passes when the client closes with that code."""
    ws_server.script(send_text("bye?"), expect_close(4000))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "bye?"
        client.close(4000, "client done")
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    info = conn.wait_closed(timeout=TIMEOUT)
    assert (info.code, info.reason) == (4000, "client done")
    assert conn.script_failure is None


# -- failure messages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "sent", "expected_text"),
    [
        pytest.param(
            expect_text("hello"),
            "goodbye",
            "script step 1 of 2, expect_text('hello'): expected 'hello', got text 'goodbye'",
            id="text",
        ),
        pytest.param(
            expect_text(re.compile(r"^\d+$")),
            "abc",
            "expect_text(re.compile('^\\\\d+$')): expected re.compile('^\\\\d+$'), got text 'abc'",
            id="regex",
        ),
        pytest.param(
            expect_text(is_greeting),
            "bye",
            "expect_text(<predicate is_greeting>): expected <predicate is_greeting>, got text "
            "'bye'",
            id="predicate",
        ),
        pytest.param(
            expect_text("hello"),
            b"hello",
            "expected a text message, got binary 'hello'",
            id="binary-for-text",
        ),
        pytest.param(
            expect_binary(b"\x01"),
            "one",
            "expected a binary message, got text 'one'",
            id="text-for-binary",
        ),
        pytest.param(
            expect_json({"op": "auth"}, subset=True),
            '{"op":"ping","x":1}',
            "expect_json({'op': 'auth'}, subset=True): got JSON {'op': 'ping', 'x': 1}; "
            "first difference at $.op: expected 'auth', got 'ping'",
            id="json-subset",
        ),
        pytest.param(
            expect_json({"a": 1}),
            "{not json",
            "expected JSON, got text '{not json', which is not JSON",
            id="not-json",
        ),
        pytest.param(
            expect_message(b"x"),
            "x",
            "expect_message(b'x'): expected b'x', got text 'x'",
            id="message",
        ),
    ],
)
def test_unmet_expectation_message(
    ws_server: MockServer, step: Step, sent: str | bytes, expected_text: str
) -> None:
    """An unmet expectation stops the script; the ScriptError says step, expected, got."""
    ws_server.script(step, send_text("unreached"))
    with sync_client(ws_server.url_for("/feed")) as client:
        client.send(sent)
        with pytest.raises(TimeoutError):
            client.recv(timeout=SHORT)
    text = script_failure(ws_server)
    assert text.startswith("connection #0 (GET /feed): script step 1 of 2, ")
    assert expected_text in text
    kind = "TEXT" if isinstance(sent, str) else "BINARY"
    # Text is shown quoted, or as JSON when it is JSON (compact here, so as it was sent).
    shown = sent[-5:] if isinstance(sent, str) else repr(sent)[-6:]
    assert_frame_listed(text, "client -> server", kind, shown)
    assert ws_server.connections[0].sent == []


def test_expectation_timeout_message(ws_server: MockServer) -> None:
    """An expectation whose message never comes fails after its timeout, saying so."""
    ws_server.script(send_text("hi"), expect_text("hello", timeout=SHORT))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "hi"
        text = script_failure(ws_server)
    assert "script step 2 of 2, expect_text('hello'): no message came" in text
    assert f"waited {SHORT} s" in text
    assert_frame_listed(text, "server -> client", "TEXT", "'hi'")


def test_expect_ping_lists_the_pings_that_did_not_match(ws_server: MockServer) -> None:
    """expect_ping(payload) that times out lists the other pings it saw."""
    ws_server.script(expect_ping(b"wanted", timeout=SHORT))
    with sync_client(ws_server.url) as client:
        assert client.ping(b"other").wait(TIMEOUT)
        text = script_failure(ws_server)
    assert f"no ping with b'wanted' came within {SHORT} s; other pings seen: [b'other']" in text


def test_expect_pong_that_never_comes(ws_server: MockServer) -> None:
    """expect_pong fails after its timeout when the client sends no pong."""
    ws_server.script(expect_pong(timeout=SHORT))
    with sync_client(ws_server.url) as client:
        text = script_failure(ws_server)
        client.send("still here")
    assert f"expect_pong(): no pong came within {SHORT} s" in text


def test_expect_close_with_the_wrong_code(ws_server: MockServer) -> None:
    """expect_close(1000) fails when the client closes with another code, naming both."""
    ws_server.script(expect_close(1000))
    with sync_client(ws_server.url) as client:
        client.close(4001)
    text = script_failure(ws_server)
    assert "expect_close(1000): expected close code 1000, the client sent 4001" in text


def test_expect_close_gets_a_message(ws_server: MockServer) -> None:
    """expect_close fails when the client sends a message instead."""
    ws_server.script(expect_close())
    with sync_client(ws_server.url) as client:
        client.send("still here")
        text = script_failure(ws_server)
    assert "expected the client to close, it sent Message(client text 10 B 'still here')" in text


def test_connection_closed_before_the_expected_message(ws_server: MockServer) -> None:
    """A client that closes while an expectation waits fails the step with the close."""
    ws_server.script(expect_text("hello"))
    with sync_client(ws_server.url) as client:
        client.close(1001, "leaving")
    text = script_failure(ws_server)
    assert "script step 1 of 1, expect_text('hello'): the connection closed first" in text
