"""A rule that raises fails the test with its traceback; the connection goes on."""

from __future__ import annotations

import pytest

from ..plugin._support import write_ini

RAISING_RESPONSE = """
import json

import websockets.sync.client

from pytest_wsmock import echo, expect_json, send_json


def build_answer(message):
    return send_json({"id": json.loads(message.text)["id"]})  # KeyError: no "id"


def test_raising_response(ws_server):
    ws_server.handler(echo)
    ws_server.on(expect_json({"type": "event"}, subset=True), build_answer)
    with websockets.sync.client.connect(ws_server.url, open_timeout=5) as ws:
        ws.send(json.dumps({"type": "event"}))
        # The rule stops answering; the message was consumed; the connection goes on.
        ws.send(json.dumps({"type": "event", "id": 2}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "event", "id": 2}
        ws.send("still open")
        assert ws.recv(timeout=5) == "still open"
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    assert info.server_code == 1000
    assert conn.notes[1] == (
        "rule #0 expect_json({'type': 'event'}, subset=True): a response function raised "
        "(KeyError: 'id'); the rule answers no more"
    )
"""

RAISING_TRIGGER = """
import websockets.sync.client

from pytest_wsmock import expect_json, send_text


def test_raising_trigger(ws_server):
    ws_server.on(expect_json(lambda value: value["type"] == "x"), send_text("x"))
    with websockets.sync.client.connect(ws_server.url, open_timeout=5) as ws:
        ws.send("[1, 2]")
    ws_server.wait_for_connection().wait_closed()
"""


def _one_failure(result: pytest.RunResult) -> None:
    # Reported in the call phase or at teardown: either way the run fails, once.
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("errors", outcomes.get("error", 0)) == 1
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_raising_response_fails_the_test(pytester: pytest.Pytester) -> None:
    write_ini(pytester)
    pytester.makepyfile(RAISING_RESPONSE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    _one_failure(result)
    result.stdout.fnmatch_lines(
        [
            "*ServerError: the mock server at ws://127.0.0.1:* failed: rule #0 rule(expect_json("
            "{'type': 'event'}, subset=True), <function build_answer>) on connection #0 (GET /): "
            "KeyError: 'id'",
        ]
    )
    # The traceback of the response function is shown.
    result.stdout.fnmatch_lines(["*def build_answer(message):*", "*KeyError: 'id'*"])


def test_a_raising_trigger_fails_the_test(pytester: pytest.Pytester) -> None:
    write_ini(pytester)
    pytester.makepyfile(RAISING_TRIGGER)
    result = pytester.runpytest("-p", "no:cacheprovider")
    _one_failure(result)
    result.stdout.fnmatch_lines(
        ["*failed: rule #0 rule(expect_json(<predicate <lambda>>), send_text('x'))*TypeError*"]
    )
    result.stdout.fnmatch_lines(["*its trigger raised on message #0*"])
