"""Record and replay end to end, with a real upstream (websockets' server, plain and TLS):
record a cassette, stop the upstream, replay it to the same client; what fails and how."""

from __future__ import annotations

import pytest

from ..proxy.conftest import RealServerFactory
from ._e2e import cassette_file, greet_and_echo, logged, read_json, setup, stop

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
