"""HAR interchange: import of a Chrome-shaped HAR, export, round trip, errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_wsmock._cassette import (
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
)
from pytest_wsmock._cassette_io import dumps, loads
from pytest_wsmock._errors import ConfigError
from pytest_wsmock._har import from_har, to_har

from ._support import opened, refused

HAR = Path(__file__).parent / "data" / "chrome.har"
STARTED = 1714557600.0  # 2024-05-01T10:00:00Z


def chrome() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(HAR.read_text(encoding="utf-8"))
    return data


def test_import_chrome_har() -> None:
    """The WebSocket entries become connections; the HTTP document entry is skipped."""
    cassette = from_har(HAR)
    assert len(cassette.connections) == 2
    feed = cassette.connections[0]
    assert feed.request.path == "/feed?symbol=BTC&token=s3cr3t-t0ken"
    assert feed.request.subprotocols == ("feed.v2", "feed.v1")
    assert ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") in feed.request.headers
    assert len(feed.request.headers) == 12
    assert feed.response == CassetteResponse(
        status=101,
        reason="Switching Protocols",
        headers=(
            ("Connection", "upgrade"),
            ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            ("Sec-WebSocket-Extensions", "permessage-deflate"),
            ("Sec-WebSocket-Protocol", "feed.v2"),
            ("Upgrade", "websocket"),
        ),
        body=b"",
        subprotocol="feed.v2",
        extensions="permessage-deflate",
    )
    # Times are from the entry's startedDateTime, to the millisecond.
    assert feed.events == (
        CassetteMessage("client", "text", '{"op":"subscribe","symbol":"BTC"}', 0.123),
        CassetteMessage("server", "text", '{"type":"ack","id":7}', 0.2),
        CassetteMessage("server", "binary", b"\x00\x01\x02\x03\xff", 0.35),
        CassetteMessage("server", "text", '{"price":64000.5,"symbol":"BTC"}', 1.042),
        CassetteMessage("client", "text", "bye ✓", 1.5),
    )
    chat = cassette.connections[1]
    assert chat.request.path == "/socket"
    assert chat.events == (CassetteMessage("server", "text", "welcome", 0.05),)


def test_import_as_mapping_text_and_path_string() -> None:
    assert from_har(chrome()) == from_har(HAR) == from_har(str(HAR))
    assert from_har(HAR.read_text(encoding="utf-8")) == from_har(HAR)


@pytest.mark.parametrize(
    ("url", "paths"),
    [
        ("wss://stream.example.com/feed", ["/feed?symbol=BTC&token=s3cr3t-t0ken"]),
        ("wss://chat.example.com/socket", ["/socket"]),
        ("wss://", ["/feed?symbol=BTC&token=s3cr3t-t0ken", "/socket"]),
        ("https://app.example.com/", []),  # the HTTP entry has no messages
    ],
)
def test_import_filters_by_url(url: str, paths: list[str]) -> None:
    assert [c.request.path for c in from_har(HAR, url=url).connections] == paths


def test_import_without_started_date_uses_first_message() -> None:
    data = chrome()
    del data["log"]["entries"][1]["startedDateTime"]
    data["log"]["entries"][2]["startedDateTime"] = "yesterday"
    cassette = from_har(data)
    assert [m.time for m in cassette.connections[0].messages] == [0.0, 0.077, 0.227, 0.919, 1.377]
    assert cassette.connections[1].messages[0].time == 0.0


def test_import_started_date_after_first_message_is_not_used() -> None:
    data = chrome()
    data["log"]["entries"][1]["startedDateTime"] = "2024-05-01T10:00:05.000Z"
    assert from_har(data).connections[0].messages[0].time == 0.0


def test_import_skips_other_opcodes() -> None:
    data = chrome()
    data["log"]["entries"][2]["_webSocketMessages"].append(
        {"type": "receive", "time": 1714557602.1, "opcode": 9, "data": ""}
    )
    assert len(from_har(data).connections[1].messages) == 1


def test_import_refusal_body() -> None:
    data = chrome()
    entry = data["log"]["entries"][2]
    entry["response"].update(
        status=403,
        statusText="Forbidden",
        content={
            "size": 3,
            "mimeType": "application/octet-stream",
            "text": "/wA=",
            "encoding": "base64",
        },
    )
    response = from_har(data).connections[1].response
    assert (response.status, response.reason, response.body) == (403, "Forbidden", b"\xff\x00")


def _broken(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = chrome()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "where", "expected"),
    [
        (("log",), [], "log", "a JSON object"),
        (("log", "entries"), {}, "log.entries", "a list"),
        (("log", "entries", 1, "request", "url"), None, "log.entries[1].request.url", "a string"),
        (
            ("log", "entries", 1, "_webSocketMessages", 2, "type"),
            "recv",
            "log.entries[1]._webSocketMessages[2].type",
            '"send" or "receive"',
        ),
        (
            ("log", "entries", 1, "_webSocketMessages", 2, "data"),
            "not base64!",
            "log.entries[1]._webSocketMessages[2].data",
            "base64 data (opcode 2)",
        ),
        (
            ("log", "entries", 1, "_webSocketMessages", 0, "time"),
            "now",
            "log.entries[1]._webSocketMessages[0].time",
            "a number",
        ),
        (
            ("log", "entries", 1, "request", "headers", 0),
            "Host: x",
            "log.entries[1].request.headers[0]",
            "a JSON object",
        ),
        (
            ("log", "entries", 1, "response", "status"),
            "101",
            "log.entries[1].response.status",
            "an HTTP status code",
        ),
    ],
)
def test_import_errors_name_the_place(
    path: tuple[Any, ...], value: Any, where: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        from_har(_broken(path, value))
    assert str(info.value).startswith(f"HAR <mapping>: at {where}: expected {expected}, got ")


def test_import_not_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.har"
    path.write_text('{"log": ', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.har is not valid JSON"):
        from_har(path)


def test_export_shape() -> None:
    """A HAR 1.2 log with the fields DevTools and Playwright read."""
    har = to_har(
        Cassette(connections=(opened(), refused())), base_url="wss://example.com", started=STARTED
    )
    json.dumps(har)  # plain JSON
    log = har["log"]
    assert log["version"] == "1.2"
    assert log["creator"]["name"] == "pytest-wsmock"
    entry = log["entries"][0]
    assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)
    assert entry["startedDateTime"] == "2024-05-01T10:00:00.000Z"
    assert entry["_resourceType"] == "websocket"
    assert entry["request"]["method"] == "GET"
    assert entry["request"]["url"] == "wss://example.com/feed?symbol=BTC&x=%C3%A9"
    assert entry["request"]["queryString"] == [
        {"name": "symbol", "value": "BTC"},
        {"name": "x", "value": "é"},
    ]
    assert {"name": "Host", "value": "127.0.0.1:9001"} in entry["request"]["headers"]
    assert entry["response"]["status"] == 101
    assert entry["response"]["statusText"] == "Switching Protocols"
    assert {"send", "wait", "receive"} <= set(entry["timings"])
    assert entry["_webSocketMessages"][:3] == [
        {
            "type": "send",
            "time": STARTED + 0.012,
            "opcode": 1,
            "data": '{"op":"subscribe","symbol":"BTC"}',
        },
        {"type": "receive", "time": STARTED + 0.02, "opcode": 1, "data": "héllo ✓ wörld"},
        {"type": "receive", "time": STARTED + 0.031, "opcode": 2, "data": "AAH+/w=="},
    ]
    assert len(entry["_webSocketMessages"]) == 5  # the two close events are not in HAR
    refusal = log["entries"][1]["response"]
    assert refusal["status"] == 403
    assert refusal["content"] == {
        "size": 4,
        "mimeType": "application/octet-stream",
        "text": "//5ubw==",
        "encoding": "base64",
    }


def test_round_trip_keeps_messages_times_request_and_response() -> None:
    cassette = Cassette(connections=(opened(), refused()))
    again = from_har(to_har(cassette, started=STARTED))
    original = loads(dumps(cassette))  # times to the millisecond
    for before, after in zip(original.connections, again.connections, strict=True):
        assert after.request == before.request
        assert after.response == before.response
        assert after.messages == before.messages
    assert not any(isinstance(e, CassetteClose) for c in again.connections for e in c.events)


def test_round_trip_of_the_chrome_har() -> None:
    cassette = from_har(HAR)
    assert (
        from_har(to_har(cassette, base_url="wss://stream.example.com", started=STARTED)) == cassette
    )


def test_export_adds_missing_subprotocol_and_extension_headers() -> None:
    connection = CassetteConnection(
        CassetteRequest("/", subprotocols=("a", "b")),
        CassetteResponse(101, subprotocol="a", extensions="permessage-deflate"),
    )
    entry = to_har(Cassette(connections=(connection,)), started=STARTED)["log"]["entries"][0]
    assert entry["request"]["headers"] == [{"name": "Sec-WebSocket-Protocol", "value": "a, b"}]
    assert entry["response"]["headers"] == [
        {"name": "Sec-WebSocket-Protocol", "value": "a"},
        {"name": "Sec-WebSocket-Extensions", "value": "permessage-deflate"},
    ]
    again = from_har(to_har(Cassette(connections=(connection,)), started=STARTED)).connections[0]
    assert again.request.subprotocols == ("a", "b")
    assert (again.response.subprotocol, again.response.extensions) == ("a", "permessage-deflate")


def test_export_default_start_is_now_to_the_millisecond() -> None:
    entry = to_har(Cassette(connections=(opened(),)))["log"]["entries"][0]
    assert entry["startedDateTime"].endswith("Z")
    assert len(entry["startedDateTime"]) == len("2024-05-01T10:00:00.000Z")


def test_import_does_not_change_the_input() -> None:
    data = chrome()
    before = copy.deepcopy(data)
    from_har(data)
    assert data == before
