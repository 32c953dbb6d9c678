"""Record modes end to end (new_episodes, all), recorded timing, and HAR interchange, with a
real upstream (websockets' server) that is stopped before the replay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_wsmock import cassette_from_har, cassette_to_har, load_cassette, save_cassette
from pytest_wsmock._cassette import CassetteClose

from ..proxy.conftest import RealServerFactory
from ._e2e import (
    GAP,
    cassette_file,
    greet_and_echo,
    greet_slowly,
    logged,
    read_json,
    rewrite,
    setup,
    stop,
)

DATA = Path(__file__).parent / "data"

EPISODES = """
def test_feed(ws_server_factory):
    server = ws_server_factory(cassette="feed", upstream=UPSTREAM)
    for name in NAMES:
        log(name, via_websockets(server.url_for("/" + name), [name]))
"""


def texts(connection: dict[str, object]) -> list[str]:
    events = connection["events"]
    assert isinstance(events, list)
    return [event["text"] for event in events if "text" in event]


def test_new_episodes_appends_the_new_connections(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, real_server: RealServerFactory
) -> None:
    """The recorded connection replays (the upstream sees only the new one), the new one is
    relayed and appended; afterwards both replay without the upstream."""
    upstream = real_server(greet_and_echo)
    log = setup(pytester, monkeypatch, upstream, "NAMES = ['one']\n" + EPISODES)
    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    assert logged(log) == [["one", ["'welcome'", "'echo: one'"]]]
    path = cassette_file(pytester, "feed")
    (first,) = read_json(path)["connections"]

    rewrite(pytester, "NAMES = ['one', 'two']\n" + EPISODES)
    pytester.runpytest("--wsmock-record-mode=new_episodes").assert_outcomes(passed=1)
    assert [request.path for request in upstream.requests] == ["/one", "/two"]
    connections = read_json(path)["connections"]
    assert connections[0] == first
    assert [texts(c) for c in connections] == [
        ["welcome", "one", "echo: one"],
        ["welcome", "two", "echo: two"],
    ]
    expected = [
        ["one", ["'welcome'", "'echo: one'"]],
        ["two", ["'welcome'", "'echo: two'"]],
    ]
    assert logged(log) == expected

    # Nothing new: the file stays as it was.
    before = path.read_text(encoding="utf-8")
    pytester.runpytest("--wsmock-record-mode=new_episodes").assert_outcomes(passed=1)
    assert path.read_text(encoding="utf-8") == before
    assert len(upstream.requests) == 2

    stop(upstream)
    logged(log)
    pytester.runpytest().assert_outcomes(passed=1)
    assert logged(log) == expected


def test_all_records_again_and_replaces_the_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, real_server: RealServerFactory
) -> None:
    upstream = real_server(greet_and_echo)
    log = setup(pytester, monkeypatch, upstream, "NAMES = ['one', 'two']\n" + EPISODES)
    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    path = cassette_file(pytester, "feed")
    assert len(read_json(path)["connections"]) == 2

    rewrite(pytester, "NAMES = ['three']\n" + EPISODES)
    pytester.runpytest("--wsmock-record-mode=all").assert_outcomes(passed=1)
    assert [request.path for request in upstream.requests] == ["/one", "/two", "/three"]
    assert [texts(c) for c in read_json(path)["connections"]] == [
        ["welcome", "three", "echo: three"]
    ]
    logged(log)
    stop(upstream)
    pytester.runpytest().assert_outcomes(passed=1)
    assert logged(log) == [["three", ["'welcome'", "'echo: three'"]]]


TIMED = """
def test_slow(ws_server_factory):
    server = ws_server_factory(cassette="slow", upstream=UPSTREAM, replay_timing="recorded")
    with websockets.sync.client.connect(server.url, open_timeout=5, proxy=None) as ws:
        got = [ws.recv(timeout=5)]
        ws.send("go")
        got += [ws.recv(timeout=5), ws.recv(timeout=5)]
    log("websockets", got)
    conn = server.wait_for_connection()
    first, second = conn.sent[1:]
    log("gap", [second.time - first.time])
"""


def test_recorded_timing_replays_the_gaps(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, real_server: RealServerFactory
) -> None:
    """The cassette's times show the upstream's pause; ``replay_timing="recorded"`` waits it
    again (lower bounds only)."""
    upstream = real_server(greet_slowly)
    log = setup(pytester, monkeypatch, upstream, TIMED)
    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    (got, _gap) = [line[1] for line in logged(log)]
    assert got == ["'welcome'", "'first'", "'second'"]
    (connection,) = read_json(cassette_file(pytester, "slow"))["connections"]
    times = {event.get("text"): event["time"] for event in connection["events"]}
    recorded_gap = times["second"] - times["first"]
    assert recorded_gap >= GAP - 0.002  # times are rounded to the millisecond

    stop(upstream)
    pytester.runpytest().assert_outcomes(passed=1)
    (got, (replayed_gap,)) = [line[1] for line in logged(log)]
    assert got == ["'welcome'", "'first'", "'second'"]
    assert float(replayed_gap) >= recorded_gap - 0.002


FROM_HAR = """
def test_feed(ws_server_factory):
    server = ws_server_factory(cassette=CASSETTE, upstream=UPSTREAM)
    log("aiohttp", via_aiohttp(server.url_for("/feed"), ["hello", b"ab"]))
"""


def test_har_round_trip_replays_to_a_python_client(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, real_server: RealServerFactory
) -> None:
    """Record, export to HAR, import it back as another cassette, replay that one: the same
    messages (the close frames are not in HAR)."""
    upstream = real_server(greet_and_echo)
    log = setup(pytester, monkeypatch, upstream, "CASSETTE = 'feed'\n" + FROM_HAR)
    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    expected = logged(log)
    assert expected == [["aiohttp", ["'welcome'", "'echo: hello'", "b'ba'"]]]

    recorded = load_cassette(cassette_file(pytester, "feed"))
    har_file = pytester.path / "feed.har"
    har_file.write_text(json.dumps(cassette_to_har(recorded, base_url=upstream.url)))
    imported = cassette_from_har(har_file)
    (before,), (after,) = recorded.connections, imported.connections
    assert after.messages == before.messages
    assert after.request == before.request
    assert [e for e in before.events if isinstance(e, CassetteClose)] != []
    assert [e for e in after.events if isinstance(e, CassetteClose)] == []
    save_cassette(imported, cassette_file(pytester, "from-har"))

    stop(upstream)
    rewrite(pytester, "CASSETTE = 'from-har'\n" + FROM_HAR)
    pytester.runpytest().assert_outcomes(passed=1)
    assert logged(log) == expected


CHROME = """
from pytest_wsmock import cassette_from_har


def test_browser_conversation(ws_server):
    replay = ws_server.replay(cassette_from_har("chrome.har", url="wss://stream.example.com"))
    ws = websocket.create_connection(ws_server.url_for("/feed?symbol=BTC"), timeout=5)
    ws.send('{"op":"subscribe","symbol":"BTC"}')
    got = [ws.recv(), ws.recv(), ws.recv()]
    ws.send("bye \\u2713")
    ws.close()
    log("websocket-client", got)
    ws_server.wait_for_connection().wait_closed()
    assert replay.unplayed() == []
"""


def test_a_browser_har_replays_to_a_python_client(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = setup(pytester, monkeypatch, "ws://127.0.0.1:9", CHROME)
    shutil.copy(DATA / "chrome.har", pytester.path / "chrome.har")
    pytester.runpytest().assert_outcomes(passed=1)
    assert logged(log) == [
        [
            "websocket-client",
            [
                repr('{"type":"ack","id":7}'),
                repr(b"\x00\x01\x02\x03\xff"),
                repr('{"price":64000.5,"symbol":"BTC"}'),
            ],
        ]
    ]


CHANGING = """
def test_subscribe(ws_server_factory):
    server = ws_server_factory(cassette="subscribe", upstream=UPSTREAM)
    sent = "2024-05-01T10:00:0%d" % ID
    message = json.dumps({"op": "subscribe", "id": ID, "sent": sent}, separators=(",", ":"))
    got = via_websocket_client(server.url, [message, "session " + str(ID) * 8])
    log("websocket-client", [got[0], got[1].startswith("echo: {"), got[2].startswith("echo: s")])
"""


def test_match_rules_in_the_file_survive_recording_again(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, real_server: RealServerFactory
) -> None:
    """Exact by default: a new id fails the replay; the file's ``match`` section (ignore a
    JSON path, replace a regex) lets it pass, and recording again keeps that section."""
    upstream = real_server(greet_and_echo)
    log = setup(pytester, monkeypatch, upstream, "ID = 1\n" + CHANGING)
    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    expected = [["websocket-client", ["'welcome'", "True", "True"]]]
    assert logged(log) == expected
    path = cassette_file(pytester, "subscribe")
    cassette = read_json(path)
    (connection,) = cassette["connections"]
    # A compact JSON text message is written as JSON (that keeps it byte for byte).
    assert connection["events"][1]["json"] == {
        "op": "subscribe",
        "id": 1,
        "sent": "2024-05-01T10:00:01",
    }

    rewrite(pytester, "ID = 2\n" + CHANGING)
    with monkeypatch.context() as patch:
        patch.setenv("E2E_TIMEOUT", "1")  # for the answer that will not come
        failed = pytester.runpytest()
    failed.assert_outcomes(failed=1)
    failed.stdout.fnmatch_lines(["*JSON differs at $.id: recorded 1, received 2"])
    assert logged(log) == []

    cassette["match"] = {"ignore": ["$.id", "$.sent"], "replace": [["session \\d+", "session N"]]}
    path.write_text(json.dumps(cassette, indent=2), encoding="utf-8")
    pytester.runpytest().assert_outcomes(passed=1)
    assert logged(log) == expected

    pytester.runpytest("--wsmock-record-mode=all").assert_outcomes(passed=1)
    again = read_json(path)
    assert again["match"] == cassette["match"]
    assert again["connections"][0]["events"][1]["json"]["id"] == 2
