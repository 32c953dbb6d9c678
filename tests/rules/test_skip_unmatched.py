"""Skipping expectations: expect_*(..., skip_unmatched=True) passes over chatter, noting it."""

from __future__ import annotations

import json

import pytest
import websocket

from pytest_wsmock import (
    ConfigError,
    MockServer,
    ServerFactory,
    expect_binary,
    expect_json,
    expect_message,
    expect_text,
    send_text,
    wait_for_release,
)

from ..scripts._support import TIMEOUT, script_failure, sync_client

BACKENDS = ["asyncio", "trio"]
REPEAT = 20


@pytest.mark.parametrize("n", range(REPEAT))
@pytest.mark.parametrize("backend", BACKENDS)
def test_skips_until_a_match(ws_server_factory: ServerFactory, backend: str, n: int) -> None:
    """Messages that do not match are skipped, each noted with its number; the match ends the
    step and the script goes on."""
    server = ws_server_factory(backend=backend)
    server.script(
        expect_json({"type": "subscribe"}, subset=True, skip_unmatched=True),
        send_text("subscribed"),
        expect_text("next"),
    )
    with sync_client(server.url) as client:
        client.send(json.dumps({"type": "ka"}))
        client.send("not json")
        client.send(json.dumps({"type": "subscribe", "id": 1}))
        assert client.recv(timeout=TIMEOUT) == "subscribed"
        client.send("next")
    conn = server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None
    step = "script step 1 of 3, expect_json({'type': 'subscribe'}, subset=True, " + (
        "skip_unmatched=True)"
    )
    assert conn.notes == [
        f"{step}: skipped message #0 ('{json.dumps({'type': 'ka'})}')",
        f"{step}: skipped message #1 ('not json')",
    ]


def test_every_message_kind_can_skip(ws_server: MockServer) -> None:
    """expect_text, expect_binary and expect_message take skip_unmatched too
    (websocket-client)."""
    ws_server.script(
        expect_text("t", skip_unmatched=True),
        expect_binary(b"b", skip_unmatched=True),
        expect_message("m", skip_unmatched=True),
        send_text("done"),
    )
    client = websocket.create_connection(ws_server.url, timeout=TIMEOUT)
    try:
        for item in (b"x", "t", "y", b"b", b"z", "m"):
            if isinstance(item, bytes):
                client.send_binary(item)
            else:
                client.send(item)
        assert client.recv() == "done"
    finally:
        client.close()
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script_failure is None
    assert [note.rpartition(": ")[2] for note in conn.notes] == [
        "skipped message #0 ('x')",
        "skipped message #2 ('y')",
        "skipped message #4 ('z')",
    ]


def test_timeout_lists_what_was_skipped(ws_server: MockServer) -> None:
    """Nothing matched in time: the failure counts the skipped messages and shows the last
    few, and why the last did not match."""
    ws_server.script(
        wait_for_release(), expect_json({"type": "ack"}, timeout=0.5, skip_unmatched=True)
    )
    with sync_client(ws_server.url) as client:
        for number in range(5):
            client.send(json.dumps({"type": "ka", "n": number}))
        # All five are queued before the step starts: what it skips does not depend on speed.
        ws_server.wait_for_connection().wait_for_messages(5)
        ws_server.release()
        text = script_failure(ws_server)
    assert "no matching message came within 0.5 s; 5 message(s) skipped" in text
    assert 'the last: #2 \'{"type": "ka", "n": 2}\', #3 ' in text
    assert "#1 '" not in text.partition("the last:")[2].partition("; the last did not")[0]
    assert "the last did not match: expected JSON equal to {'type': 'ack'}" in text
    conn = ws_server.connections[0]
    assert len([n for n in conn.notes if "skipped message" in n]) == 5


def test_timeout_without_any_message(ws_server: MockServer) -> None:
    ws_server.script(expect_text("x", timeout=0.3, skip_unmatched=True))
    with sync_client(ws_server.url):
        text = script_failure(ws_server)
    assert "no message came within 0.3 s (skip_unmatched=True)" in text


def test_connection_ends_while_skipping(ws_server: MockServer) -> None:
    """The client leaves before a match: an unmet expectation, as without skipping."""
    ws_server.script(expect_text("never", skip_unmatched=True))
    with sync_client(ws_server.url) as client:
        client.send("chatter")
    text = script_failure(ws_server)
    assert "expect_text('never', skip_unmatched=True): the connection closed first" in text


def test_describe_and_checks() -> None:
    assert expect_text("a", skip_unmatched=True).describe() == (
        "expect_text('a', skip_unmatched=True)"
    )
    with pytest.raises(ConfigError, match="skip_unmatched takes True or False"):
        expect_text("a", skip_unmatched="yes")  # type: ignore[arg-type]
