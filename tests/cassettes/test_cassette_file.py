"""The cassette file: its exact form, round trips, save/load, and every ConfigError."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_wsmock._cassette import (
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
)
from pytest_wsmock._cassette_io import dumps, json_form, load, loads, save
from pytest_wsmock._errors import ConfigError

from ._support import opened, refused, sample


def _with_events(*events: CassetteMessage | CassetteClose) -> Cassette:
    request = CassetteRequest(path="/")
    response = CassetteResponse(status=101, reason="Switching Protocols")
    return Cassette(connections=(CassetteConnection(request, response, events),))


def _event_lines(cassette: Cassette) -> list[str]:
    return [line.strip().rstrip(",") for line in dumps(cassette).splitlines() if '"side"' in line]


def test_every_event_form_is_one_line() -> None:
    """Each event is one object on its own line, in the documented form."""
    lines = _event_lines(Cassette(connections=(opened(),)))
    assert lines == [
        '{"side": "client", "time": 0.012, "json": {"op": "subscribe", "symbol": "BTC"}}',
        '{"side": "server", "time": 0.02, "text": "héllo ✓ wörld"}',
        '{"side": "server", "time": 0.031, "binary": "AAH+/w=="}',
        '{"side": "server", "time": 0.04, "text": "{\\"a\\": 1}"}',
        '{"side": "client", "time": 0.05, "text": ""}',
        '{"side": "client", "time": 0.5, "close": 1000, "reason": "bye"}',
        '{"side": "server", "time": 0.501, "close": 1000, "reason": ""}',
    ]


def test_close_without_code_and_tcp_end() -> None:
    """A close frame without a code is "close": null; a TCP end adds "frame": false."""
    cassette = _with_events(
        CassetteClose("server", None, "", 1.0),
        CassetteClose("client", None, "", 1.25, frame=False),
    )
    assert _event_lines(cassette) == [
        '{"side": "server", "time": 1.0, "close": null, "reason": ""}',
        '{"side": "client", "time": 1.25, "close": null, "reason": "", "frame": false}',
    ]
    assert loads(dumps(cassette)) == cassette


def test_key_order_is_fixed_and_readable() -> None:
    """version, match, connections; request, response, events; ensure_ascii off."""
    text = dumps(sample())
    document = json.loads(text)
    assert list(document) == ["version", "match", "connections"]
    assert list(document["connections"][0]) == ["request", "response", "events"]
    assert list(document["connections"][0]["request"]) == ["path", "headers", "subprotocols"]
    assert list(document["connections"][0]["response"]) == [
        "status",
        "reason",
        "headers",
        "body",
        "subprotocol",
        "extensions",
    ]
    assert '        "headers": [\n          ["Host", "127.0.0.1:9001"],\n' in text
    assert "héllo ✓" in text
    assert text.endswith("}\n")


@pytest.mark.parametrize(
    ("text", "as_json"),
    [
        ('{"op":"sub","n":[1,2.5,null,true]}', True),
        ("[1,2]", True),
        ('{"é":"✓"}', True),
        ('{"a": 1}', False),  # spaces: compact JSON would not give it back
        ('{"b":1,"a":2}', True),  # key order is kept
        ('{"a":1,"a":2}', False),  # duplicate keys
        ('{"a":1e5}', False),  # 1e5 would come back as 100000.0
        ('{"a":"\\u00e9"}', False),  # an escape non-ASCII output would not repeat
        ('{"a":NaN}', False),
        ("42", False),  # only objects and arrays
        ('"quoted"', False),
        ("{not json", False),
        ("", False),
    ],
)
def test_json_form_only_when_byte_exact(text: str, as_json: bool) -> None:
    """A text message is written as "json" only when that gives the same text back."""
    cassette = _with_events(CassetteMessage("client", "text", text, 0.0))
    line = _event_lines(cassette)[0]
    assert ('"json": ' in line) is as_json
    assert (json_form(text) is not None) is as_json
    again = loads(dumps(cassette))
    assert again == cassette
    assert again.connections[0].events[0] == CassetteMessage("client", "text", text, 0.0)


def test_bodies_text_or_base64() -> None:
    """A UTF-8 body is a string; any other is {"base64": ...}."""
    utf8 = CassetteConnection(
        CassetteRequest("/"), CassetteResponse(403, "Forbidden", body="nope ✓".encode())
    )
    document = json.loads(dumps(Cassette(connections=(utf8, refused()))))
    assert document["connections"][0]["response"]["body"] == "nope ✓"
    assert document["connections"][1]["response"]["body"] == {"base64": "//5ubw=="}
    assert loads(dumps(Cassette(connections=(utf8, refused())))).connections[1].response.body == (
        b"\xff\xfeno"
    )


def test_times_rounded_to_milliseconds() -> None:
    """Times are written with 3 decimals; ints become floats, so the output is stable."""
    cassette = _with_events(
        CassetteMessage("client", "text", "a", 0),
        CassetteMessage("client", "text", "b", 0.0004999),
        CassetteMessage("client", "text", "c", 12.34567),
    )
    times = [json.loads(line)["time"] for line in _event_lines(cassette)]
    assert times == [0.0, 0.0, 12.346]
    assert [repr(t) for t in times] == ["0.0", "0.0", "12.346"]


def test_round_trip_keeps_everything_but_sub_millisecond_time() -> None:
    """loads(dumps(c)) is c, times rounded; dumps(loads(text)) is the text."""
    cassette = sample()
    text = dumps(cassette)
    again = loads(text)
    assert again.match == cassette.match
    assert again.connections[1] == cassette.connections[1]
    first = again.connections[0]
    assert first.request == cassette.connections[0].request
    assert first.response == cassette.connections[0].response
    assert [(e.side, getattr(e, "data", None)) for e in first.events] == [
        (e.side, getattr(e, "data", None)) for e in cassette.connections[0].events
    ]
    assert first.events[0].time == 0.012
    assert dumps(again) == text


def test_empty_cassette() -> None:
    """A cassette without connections is a valid file."""
    text = dumps(Cassette())
    assert json.loads(text) == {
        "version": 1,
        "match": {"ignore": [], "replace": []},
        "connections": [],
    }
    assert loads(text) == Cassette()


def test_hand_written_minimal_file() -> None:
    """Optional keys may be left out of a hand-written file."""
    text = """{"version": 1, "connections": [
        {"request": {"path": "/x"}, "response": {"status": 101},
         "events": [{"side": "server", "time": 0, "text": "hi"},
                    {"side": "client", "time": 1, "close": 1000}]}]}"""
    cassette = loads(text)
    connection = cassette.connections[0]
    assert connection.request == CassetteRequest("/x")
    assert connection.response == CassetteResponse(101)
    assert connection.events == (
        CassetteMessage("server", "text", "hi", 0.0),
        CassetteClose("client", 1000, "", 1.0),
    )


def test_save_creates_folders_and_load_reads_back(tmp_path: Path) -> None:
    """save() makes parent folders and leaves no temporary file; load() reads it back."""
    path = tmp_path / "cassettes" / "test_feed" / "test_subscribe.json"
    save(sample(), path)
    assert path.read_text(encoding="utf-8") == dumps(sample())
    assert sorted(os.listdir(path.parent)) == ["test_subscribe.json"]
    assert load(path) == loads(dumps(sample()))
    save(Cassette(), path)  # replaces the file
    assert load(path) == Cassette()
    assert sorted(os.listdir(path.parent)) == ["test_subscribe.json"]


def test_save_failure_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    """A text that cannot be UTF-8 fails before anything is written."""
    path = tmp_path / "c.json"
    save(Cassette(), path)
    bad = _with_events(CassetteMessage("client", "text", "\ud800", 0.0))
    with pytest.raises(ConfigError, match="not UTF-8"):
        save(bad, path)
    assert load(path) == Cassette()
    assert os.listdir(tmp_path) == ["c.json"]


def test_load_missing_file(tmp_path: Path) -> None:
    """A missing file is FileNotFoundError (the record mode decides what that means)."""
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.json")


def test_load_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"version": 1, "x": "\xe9"}')
    with pytest.raises(ConfigError, match=r"latin\.json is not UTF-8"):
        load(path)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"version": 1, "connections": [{"request": {}}]}', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(path) in str(info.value)
    assert "connections[0].request" in str(info.value)


def _event_error(event: object) -> str:
    document = {
        "version": 1,
        "connections": [
            {"request": {"path": "/"}, "response": {"status": 101}, "events": []},
            {
                "request": {"path": "/"},
                "response": {"status": 101},
                "events": [{"side": "client", "time": 0, "text": "x"}] * 4 + [event],
            },
        ],
    }
    with pytest.raises(ConfigError) as info:
        loads(json.dumps(document), source="feed.json")
    return str(info.value)


@pytest.mark.parametrize(
    ("event", "where", "expected"),
    [
        ({"side": "client", "time": 0, "txt": "x"}, "", "unknown key 'txt'"),
        ({"side": "client", "time": 0}, "", "exactly one of the keys text, json, binary or close"),
        ({"side": "client", "time": 0, "text": "a", "binary": ""}, "", "exactly one"),
        ({"side": "browser", "time": 0, "text": "a"}, ".side", '"client" or "server"'),
        ({"time": 0, "text": "a"}, "", "a key 'side'"),
        ({"side": "client", "text": "a"}, "", "a key 'time'"),
        ({"side": "client", "time": -1, "text": "a"}, ".time", "a number >= 0"),
        ({"side": "client", "time": "0", "text": "a"}, ".time", "a number >= 0"),
        ({"side": "client", "time": True, "text": "a"}, ".time", "a number >= 0"),
        ({"side": "client", "time": 0, "text": 5}, ".text", "a string"),
        ({"side": "client", "time": 0, "binary": "!!"}, ".binary", "base64 data"),
        ({"side": "client", "time": 0, "close": "1000"}, ".close", "a close code"),
        ({"side": "client", "time": 0, "close": 1000, "frame": "no"}, ".frame", "true or false"),
        ({"side": "client", "time": 0, "close": 1000, "frame": False}, ".close", "null when"),
        ({"side": "client", "time": 0, "close": 1000, "reason": 3}, ".reason", "a string"),
        ({"side": "client", "time": 0, "text": "a", "reason": "r"}, "", "only in a close event"),
        (["client", 0, "a"], "", "a JSON object"),
    ],
)
def test_bad_event_names_the_place(event: object, where: str, expected: str) -> None:
    """A bad event's error names the file, connections[1].events[4] and what was expected."""
    message = _event_error(event)
    assert message.startswith(f"cassette feed.json: at connections[1].events[4]{where}: expected")
    assert expected in message


@pytest.mark.parametrize(
    ("document", "where", "expected"),
    [
        ([], "the top level", "a JSON object"),
        ({"connections": []}, "the top level", "a key 'version'"),
        ({"version": 2}, "version", "record the cassette again"),
        ({"version": "1"}, "version", "the cassette format this pytest-wsmock reads"),
        ({"version": True}, "version", "the cassette format"),
        ({"version": 1, "conections": []}, "the top level", "unknown key 'conections'"),
        ({"version": 1, "connections": {}}, "connections", "a list of connections"),
        (
            {"version": 1, "connections": [{"response": {"status": 101}}]},
            "connections[0]",
            "'request'",
        ),
        (
            {"version": 1, "connections": [{"request": {"path": "/"}}]},
            "connections[0]",
            "'response'",
        ),
        (
            {"version": 1, "connections": [{"request": {"path": 3}, "response": {"status": 1}}]},
            "connections[0].request.path",
            "a string",
        ),
        (
            {"version": 1, "connections": [{"request": {"path": "/"}, "response": {"status": 1}}]},
            "connections[0].response.status",
            "an HTTP status code",
        ),
        (
            {
                "version": 1,
                "connections": [
                    {"request": {"path": "/", "headers": [["Host"]]}, "response": {"status": 101}}
                ],
            },
            "connections[0].request.headers[0]",
            '["Name", "value"] pairs',
        ),
        (
            {
                "version": 1,
                "connections": [
                    {"request": {"path": "/", "subprotocols": "chat"}, "response": {"status": 101}}
                ],
            },
            "connections[0].request.subprotocols",
            "a list of strings",
        ),
        (
            {
                "version": 1,
                "connections": [
                    {"request": {"path": "/"}, "response": {"status": 403, "body": {"b64": ""}}}
                ],
            },
            "connections[0].response.body",
            '{"base64": "..."}',
        ),
        (
            {
                "version": 1,
                "connections": [
                    {"request": {"path": "/"}, "response": {"status": 101}, "events": {}}
                ],
            },
            "connections[0].events",
            "a list of events",
        ),
        ({"version": 1, "match": {"ignore": "$.id"}}, "match.ignore", "a list of strings"),
        (
            {"version": 1, "match": {"replace": [["a"]]}},
            "match.replace[0]",
            '["regex", "replacement"]',
        ),
        ({"version": 1, "match": {"ignored": []}}, "match", "unknown key 'ignored'"),
    ],
)
def test_bad_shape_names_the_place(document: object, where: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(json.dumps(document), source="feed.json")
    assert str(info.value).startswith(f"cassette feed.json: at {where}: expected")
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({"ignore": ["id"]}, "must start with $"),
        ({"ignore": ["$.items[*"]}, "cannot read it from character 7"),
        ({"replace": [["(unclosed", "x"]]}, "missing ), unterminated subpattern"),
        ({"replace": [["a", "\\1"]]}, "invalid group reference 1"),
    ],
)
def test_bad_match_rules_name_the_file(match: object, expected: str) -> None:
    """Match rules are checked on load: a bad path or regex names the file and an example."""
    with pytest.raises(ConfigError) as info:
        loads(json.dumps({"version": 1, "match": match}), source="feed.json")
    assert str(info.value).startswith("cassette feed.json: at match: match rule")
    assert expected in str(info.value)
    assert "e.g." in str(info.value) or "like $.id" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is not valid JSON"),
        ("{'version': 1}", "is not valid JSON"),
        ('{"version": 1, "connections": [}', "is not valid JSON"),
        ('{"version": NaN}', "is not valid JSON"),
    ],
)
def test_not_json(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(text, source="feed.json")
    assert str(info.value).startswith(f"cassette feed.json {expected}")
    assert "record it again" in str(info.value)


def test_config_error_is_a_value_error() -> None:
    """Users may catch it as ValueError too, as with every ConfigError."""
    with pytest.raises(ValueError, match="<cassette>"):
        loads("[]")


def test_unwritable_time_is_a_config_error() -> None:
    cassette = _with_events(CassetteMessage("client", "text", "a", float("nan")))
    with pytest.raises(ConfigError, match=r"connections\[0\]\.events\[0\]\.time is nan"):
        dumps(cassette)
