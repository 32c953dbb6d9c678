"""The assertion helpers of Connection, against a real client."""

from __future__ import annotations

import re

import pytest
import websockets.sync.client

from pytest_wsmock import (
    ANY,
    Connection,
    Direction,
    MockServer,
    RecordMismatch,
    echo,
)


@pytest.fixture
def conn(ws_server: MockServer) -> Connection:
    """A closed connection on which the client sent 'hello', b'\\x00\\x01' and a JSON text."""
    ws_server.handler(echo)
    with websockets.sync.client.connect(ws_server.url, open_timeout=2) as ws:
        ws.send("hello")
        ws.send(b"\x00\x01")
        ws.send('{"type": "sub", "id": 3, "tags": ["a", "b"]}')
        for _ in range(3):
            ws.recv(timeout=2)
        ws.close(4001, "done")
    connection = ws_server.wait_for_connection()
    connection.wait_closed()
    return connection


def test_every_kind_of_matcher_passes(conn: Connection) -> None:
    """str, bytes, JSON subset, regex and predicate each match their message."""
    conn.assert_received("hello", b"\x00\x01", {"type": "sub"}, subset=True)
    conn.assert_received(re.compile("^hel"), lambda data: data[0] == 0, {"id": 3}, subset=True)


def test_exact_json_needs_every_key(conn: Connection) -> None:
    """Without subset, a JSON dict must equal the message's JSON."""
    with pytest.raises(RecordMismatch, match=r"#2 MISMATCH    expected JSON equal to"):
        conn.assert_received("hello", b"\x00\x01", {"type": "sub"})


def test_text_and_binary_are_not_confused(conn: Connection) -> None:
    """A str matcher against a binary message is a mismatch that says so."""
    with pytest.raises(RecordMismatch) as failure:
        conn.assert_received("hello", "\x00\x01", prefix=True)
    assert "#1 MISMATCH    expected a text message, got binary" in str(failure.value)


def test_extra_messages_are_unexpected_unless_prefix(conn: Connection) -> None:
    """More messages than matchers fail, listing the extra ones; prefix=True allows them."""
    with pytest.raises(RecordMismatch) as failure:
        conn.assert_received("hello")
    text = str(failure.value)
    assert "(expected 1, got 3)" in text
    assert "#1 UNEXPECTED  Message(client binary 2 B" in text
    assert "#2 UNEXPECTED  Message(client text" in text
    conn.assert_received("hello", prefix=True)


def test_assert_closed_checks_the_given_fields(conn: Connection) -> None:
    """assert_closed compares the client's code and reason and the named CloseInfo fields."""
    info = conn.assert_closed(4001, "done", initiator=Direction.CLIENT, server_code=4001)
    assert info.clean
    conn.assert_closed(ANY, "done")


def test_assert_closed_lists_each_difference(conn: Connection) -> None:
    """A wrong code and a wrong initiator are both named, expected against actual."""
    with pytest.raises(RecordMismatch) as failure:
        conn.assert_closed(1000, initiator=Direction.SERVER)
    text = str(failure.value)
    assert "client_code: expected 1000, got 4001" in text
    assert "initiator: expected <Direction.SERVER: 'server'>, got <Direction.CLIENT" in text
    assert "did not close as expected (client closed first;" in text


def test_assert_no_violations_passes_for_a_compliant_client(conn: Connection) -> None:
    """websockets breaks no rule in this exchange."""
    conn.assert_no_violations()


@pytest.mark.wsmock(strict=False)
def test_assert_no_violations_lists_them(ws_server: MockServer) -> None:
    """A client that drops TCP without a close frame fails assert_no_violations, named."""
    with websockets.sync.client.connect(ws_server.url, open_timeout=2) as ws:
        ws.send("x")
        ws.socket.close()  # no closing handshake
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    with pytest.raises(RecordMismatch, match="no-closing-handshake"):
        conn.assert_no_violations()


@pytest.mark.parametrize(
    ("expected", "actual", "subset", "where"),
    [
        (
            {"id": "1", "payload": {"vars": {"c": "cust-7"}}},
            {"id": "1", "payload": {"vars": {"c": "cust-8"}}},
            False,
            "; first difference at $.payload.vars.c: expected 'cust-7', got 'cust-8'",
        ),
        (
            {"a": [1, 2]},
            {"a": [1, 2, 3]},
            False,
            "; first difference at $.a: 2 item(s) expected, 3 came",
        ),
        (
            {"a": [1, {"b": 2}]},
            {"a": [1, {"b": 3}]},
            True,
            "; first difference at $.a[1].b: expected 2, got 3",
        ),
        ({"a": 1}, {"a": 1, "b": 2}, False, "; first difference at $: unexpected key 'b'"),
        ({"a": 1}, {"a": 1, "b": 2}, True, ""),
        ({"a": 1, "b": 2}, {"a": 1}, True, "; first difference at $: key 'b' is missing"),
    ],
)
def test_a_json_mismatch_names_where_the_values_first_differ(
    expected: object, actual: object, subset: bool, where: str
) -> None:
    """The failure of a JSON expectation says where the two values first differ."""
    from pytest_wsmock._matchers import json_difference

    assert json_difference(expected, actual, subset) == where
