"""Record and replay end to end, with a real upstream (websockets' server, plain and TLS):
record a cassette, stop the upstream, replay it to the same client; what fails and how."""

from __future__ import annotations

import json
import socket

import pytest

from ..proxy.conftest import RealServerFactory
from ._e2e import cassette_file, greet_and_echo, logged, read_json, rewrite, setup, stop

ROUND_TRIP = """
def test_feed(ws_server_factory):
    options = {"upstream_ssl": upstream_ssl()} if UPSTREAM.startswith("wss:") else {}
    server = ws_server_factory(cassette="feed", upstream=UPSTREAM, **options)
    log("websockets", via_websockets(server.url_for("/feed?symbol=BTC"), ["hello", b"\\x01\\x02"]))
    log("aiohttp", via_aiohttp(server.url_for("/feed?symbol=ETH"), ["hi"]))
    log("websocket-client", via_websocket_client(server.url_for("/feed"), [b"ab", "bye"]))
"""

EXPECTED = [
    ["websockets", ["'welcome'", "'echo: hello'", "b'\\x02\\x01'"]],
    ["aiohttp", ["'welcome'", "'echo: hi'"]],
    ["websocket-client", ["'welcome'", "b'ba'", "'echo: bye'"]],
]


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_record_then_replay_without_the_upstream(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    real_server: RealServerFactory,
    tls: bool,
) -> None:
    """Record once from the real service, stop it, replay: each client gets what it got."""
    upstream = real_server(greet_and_echo, tls=tls)
    log = setup(pytester, monkeypatch, upstream, ROUND_TRIP)

    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    assert logged(log) == EXPECTED
    assert len(upstream.requests) == 3
    path = cassette_file(pytester, "feed")
    recorded = read_json(path)
    assert [c["request"]["path"] for c in recorded["connections"]] == [
        "/feed?symbol=BTC",
        "/feed?symbol=ETH",
        "/feed",
    ]
    first = recorded["connections"][0]
    assert first["response"]["status"] == 101
    assert [e.get("text", e.get("binary")) for e in first["events"] if "close" not in e] == [
        "welcome",
        "hello",
        "echo: hello",
        "AQI=",
        "AgE=",
    ]
    assert [e["side"] for e in first["events"]][:3] == ["server", "client", "server"]
    assert any("close" in e for e in first["events"])

    stop(upstream)
    pytester.runpytest().assert_outcomes(passed=1)
    assert logged(log) == EXPECTED
    assert len(upstream.requests) == 3
    assert read_json(path) == recorded  # replay leaves the file alone


SENDS = """
def test_feed(ws_server_factory):
    server = ws_server_factory(cassette="feed", upstream=UPSTREAM)
    log("websockets", via_websockets(server.url, [{sends}]))
"""


#: The client changed its second message; it does not wait for an answer that will not come.
CHANGED = """
def test_feed(ws_server_factory):
    server = ws_server_factory(cassette="feed", upstream=UPSTREAM)
    with websockets.sync.client.connect(server.url, open_timeout=5, proxy=None) as ws:
        assert ws.recv(timeout=5) == "welcome"
        ws.send("hello")
        assert ws.recv(timeout=5) == "echo: hello"
        ws.send("price BTC 64100")
"""


def test_a_changed_client_message_fails_with_a_diff_and_the_transcript(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, real_server: RealServerFactory
) -> None:
    upstream = real_server(greet_and_echo)
    log = setup(pytester, monkeypatch, upstream, SENDS.format(sends='"hello", "price BTC 64000"'))
    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    stop(upstream)

    rewrite(pytester, CHANGED)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*ScriptError: connection #0 (GET /): script step * replay client message #1 *: "
            "cassette connection #0, client message #1: expected text 'price BTC 64000', "
            "received text 'price BTC 64100'",
            "*-price BTC 64000",
            "*+price BTC 64100",
            "*- wsmock transcript -*",
            "*client -> server*TEXT*'price BTC 64100'",
        ]
    )
    # Nothing recorded after the departure was sent.
    assert "echo: price" not in result.stdout.str().partition("wsmock transcript")[2]
    assert logged(log) == [
        ["websockets", ["'welcome'", "'echo: hello'", "'echo: price BTC 64000'"]]
    ]


MARKED = """
@pytest.mark.wsmock(cassette="feed", upstream=UPSTREAM)
def test_feed(ws_server):
    log("websockets", via_websockets(ws_server.url, ["hello"]))
"""


def test_none_mode_without_a_cassette_fails_and_never_connects(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default mode replays only: a missing cassette fails the test, naming the command
    that records it, and the upstream gets no connection at all (its backlog stays empty)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    with listener:
        port = listener.getsockname()[1]
        log = setup(pytester, monkeypatch, f"ws://127.0.0.1:{port}", MARKED)
        result = pytester.runpytest()
        result.assert_outcomes(errors=1)
        text = result.stdout.str()
        assert "ConfigError: no cassette at " in text
        assert f"{cassette_file(pytester, 'feed')}, and --wsmock-record-mode=none" in text
        result.stdout.fnmatch_lines(
            ['*pytest --wsmock-record-mode=once "test_inner.py::test_feed"']
        )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    assert not log.exists()
    assert not cassette_file(pytester, "feed").exists()


SECRETS = """
def hide_password(side, data):
    return data.replace("hunter2", "PASSWORD") if isinstance(data, str) else data


def test_login(ws_server_factory):
    server = ws_server_factory(
        cassette="login",
        upstream=UPSTREAM + "/v1?apikey=APIKEY-0042",
        cassette_secrets=Secrets(message=hide_password),
        # Replay compares the client's real password with the filtered one.
        cassette_match=MatchRules(replace=[("hunter2", "PASSWORD")]),
    )
    url = server.url_for("/feed?symbol=BTC&token=TOKEN-5ec7e7&depth=5")
    headers = {"Authorization": "Bearer BEARER-9a8b7c", "Origin": "https://app.example"}
    log("websockets", via_websockets(url, ["login hunter2"], headers=headers))
"""


def test_secrets_never_reach_the_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, real_server: RealServerFactory
) -> None:
    """The token in the query, the Authorization header and the password in a message reach
    the upstream, not the cassette; the filtered cassette still replays."""
    upstream = real_server(greet_and_echo)
    log = setup(pytester, monkeypatch, upstream, SECRETS)
    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    assert logged(log) == [["websockets", ["'welcome'", "'echo: login hunter2'"]]]
    (request,) = upstream.requests
    # The upstream URL's query comes first (it was dropped: regression).
    assert request.path == "/v1/feed?apikey=APIKEY-0042&symbol=BTC&token=TOKEN-5ec7e7&depth=5"
    assert request.headers["Authorization"] == "Bearer BEARER-9a8b7c"

    text = cassette_file(pytester, "login").read_text(encoding="utf-8")
    for secret in (
        "TOKEN-5ec7e7",
        "BEARER-9a8b7c",
        "hunter2",
        request.headers["Sec-WebSocket-Key"],
    ):
        assert secret not in text
    (connection,) = json.loads(text)["connections"]
    assert connection["request"]["path"] == (
        "/v1/feed?apikey=FILTERED&symbol=BTC&token=FILTERED&depth=5"
    )
    headers = dict(connection["request"]["headers"])
    assert headers["Authorization"] == "FILTERED"
    assert headers["Origin"] == "https://app.example"  # not a secret: kept
    assert [e["text"] for e in connection["events"] if "text" in e] == [
        "welcome",
        "login PASSWORD",
        "echo: login PASSWORD",
    ]

    stop(upstream)
    pytester.runpytest().assert_outcomes(passed=1)
    assert logged(log) == [["websockets", ["'welcome'", "'echo: login PASSWORD'"]]]


REFUSED = """
def test_refused(ws_server_factory):
    server = ws_server_factory(cassette="refused", upstream=UPSTREAM)
    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(server.url_for("/private"), open_timeout=5, proxy=None)
    response = refused.value.response
    log("websockets", [response.status_code, bytes(response.body)])
"""


def test_a_recorded_refusal_replays_with_its_body(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, real_server: RealServerFactory
) -> None:
    upstream = real_server(refuse=(403, "no entry without a subscription"))
    log = setup(pytester, monkeypatch, upstream, REFUSED)
    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    expected = [["websockets", ["403", "b'no entry without a subscription'"]]]
    assert logged(log) == expected
    (connection,) = read_json(cassette_file(pytester, "refused"))["connections"]
    assert connection["response"]["status"] == 403
    assert connection["response"]["body"] == "no entry without a subscription"
    assert connection["events"] == []

    stop(upstream)
    pytester.runpytest().assert_outcomes(passed=1)
    assert logged(log) == expected


TWICE = """
def test_feed(ws_server_factory):
    server = ws_server_factory(cassette="feed", upstream=UPSTREAM)
    log("first", via_websockets(server.url_for("/a"), ["hello"]))
    if CONNECT_TWICE:
        try:
            log("second", via_websocket_client(server.url_for("/b"), ["hello"]))
        except websocket.WebSocketBadStatusException as refused:
            log("second", [refused.status_code])
"""


@pytest.mark.parametrize(("recorded", "replayed"), [(False, True), (True, False)])
def test_a_client_that_does_not_follow_the_cassette_fails(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    real_server: RealServerFactory,
    recorded: bool,
    replayed: bool,
) -> None:
    """An extra connection (refused 503) or a recorded connection never requested fails
    the test, naming the cassette and what to do."""
    upstream = real_server(greet_and_echo)
    log = setup(pytester, monkeypatch, upstream, f"CONNECT_TWICE = {recorded}\n" + TWICE)
    pytester.runpytest("--wsmock-record-mode=once").assert_outcomes(passed=1)
    assert len(logged(log)) == (2 if recorded else 1)
    stop(upstream)

    rewrite(pytester, f"CONNECT_TWICE = {replayed}\n" + TWICE)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    path = cassette_file(pytester, "feed")
    if replayed:
        problem = (
            "*connection #1 (GET /b): replay: the cassette has 1 connection(s); this is "
            "replayed connection #1: answered 503"
        )
    else:
        problem = "*cassette connection #1 (GET /b, answered 101, 3 message(s)) was never requested"
    result.stdout.fnmatch_lines(
        [
            f"E*ScriptError: the client did not follow the cassette {path}:",
            problem,
            "*record the cassette again: pytest --wsmock-record-mode=all <this test>",
        ]
    )


DOWN = """
def test_feed(ws_server_factory):
    server = ws_server_factory(cassette="feed", upstream=UPSTREAM)
    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(server.url, open_timeout=5, proxy=None)
    assert refused.value.response.status_code == 502
"""


def test_recording_from_an_upstream_that_is_down_fails_and_writes_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, real_server: RealServerFactory
) -> None:
    """Regression: the run passed and wrote an empty cassette, which the next runs then
    replayed (``once`` did not record it again)."""
    upstream = real_server(greet_and_echo)
    port = upstream.port
    stop(upstream)
    setup(pytester, monkeypatch, upstream, DOWN)
    result = pytester.runpytest("--wsmock-record-mode=once")
    result.assert_outcomes(failed=1)
    path = cassette_file(pytester, "feed")
    result.stdout.fnmatch_lines(
        [
            f"E*ScriptError: recording the cassette {path} (--wsmock-record-mode=once): the "
            f"upstream could not be opened, so the client was answered 502:",
            f"*- connection #0: {upstream.url}: connection refused by 127.0.0.1:{port}",
            "*The cassette was not written*",
        ]
    )
    assert not path.exists()
