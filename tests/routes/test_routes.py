"""Per-path routes: ``ws_server.route(...)``, ``conn.route``, ``strict_routes``; real clients
(websockets, websocket-client, aiohttp)."""

from __future__ import annotations

import re

import aiohttp
import pytest
import websocket
import websockets.sync.client
from websockets.exceptions import InvalidStatus

from pytest_wsmock import (
    ConfigError,
    Handshake,
    MockServer,
    Route,
    ServerFactory,
    WebSocket,
    echo,
    expect_text,
    rule,
    send_text,
)

from ..plugin._support import write_ini

TIMEOUT = 5


def status(server: MockServer, index: int) -> int:
    """The handshake status answered to connection #index."""
    response = server.wait_for_connection(index).response
    assert response is not None
    return response.status


def first_message(url: str) -> str:
    with websockets.sync.client.connect(url, open_timeout=TIMEOUT) as ws:
        message = ws.recv(timeout=TIMEOUT)
    assert isinstance(message, str)
    return message


def test_exact_and_regex_routes_with_server_wide_fallback(ws_server: MockServer) -> None:
    """Each path gets its route's script; an unmatched path the server-wide one; the record
    says which route served each connection."""
    ws_server.script(send_text("server-wide"))
    chat = ws_server.route("/chat", script=[send_text("chat")])
    rooms = ws_server.route(re.compile(r"/rooms/\d+"), script=[send_text("room")])
    assert isinstance(chat, Route)
    assert (chat.pattern, rooms.pattern) == ("/chat", r"/rooms/\d+")

    assert first_message(ws_server.url_for("/chat?token=1")) == "chat"  # the query is ignored
    assert first_message(ws_server.url_for("/rooms/7")) == "room"
    assert first_message(ws_server.url_for("/rooms/7/x")) == "server-wide"  # fullmatch only
    assert first_message(ws_server.url_for("/rooms/12")) == "room"

    routes = [ws_server.wait_for_connection(i).route for i in range(4)]
    assert routes == ["/chat", r"/rooms/\d+", None, r"/rooms/\d+"]
    assert [c.index for c in rooms.connections] == [1, 3]
    assert [c.index for c in chat.connections] == [0]


def test_exact_path_wins_over_a_pattern(ws_server: MockServer) -> None:
    """An exact route is chosen before a pattern that also matches; patterns in the order
    they were added."""
    ws_server.route(re.compile(r"/v\d/.*"), script=[send_text("first pattern")])
    ws_server.route(re.compile(r"/v1/.*"), script=[send_text("second pattern")])
    ws_server.route("/v1/live", script=[send_text("exact")])
    assert first_message(ws_server.url_for("/v1/live")) == "exact"
    assert first_message(ws_server.url_for("/v1/other")) == "first pattern"


def test_a_later_route_for_the_same_path_replaces(ws_server: MockServer) -> None:
    """route() again for the same path (or the same pattern) replaces the first."""
    ws_server.route("/feed", script=[send_text("old")])
    ws_server.route("/feed", script=[send_text("new")])
    ws_server.route(re.compile("/p/.+"), script=[send_text("old pattern")])
    ws_server.route(re.compile("/p/.+"), script=[send_text("new pattern")])
    assert first_message(ws_server.url_for("/feed")) == "new"
    assert first_message(ws_server.url_for("/p/1")) == "new pattern"


def test_route_handshake_sequence_counts_that_routes_connections(ws_server: MockServer) -> None:
    """handshake=[reject, accept] on a route: its first connection is refused, its second
    accepted; connections to other paths take no turn (websocket-client)."""
    ws_server.route("/flaky", handshake=[Handshake.reject(503), Handshake.accept()])
    ws = websocket.create_connection(ws_server.url_for("/steady"), timeout=TIMEOUT)
    ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        websocket.create_connection(ws_server.url_for("/flaky"), timeout=TIMEOUT)
    assert caught.value.status_code == 503
    ws = websocket.create_connection(ws_server.url_for("/steady"), timeout=TIMEOUT)
    ws.close()
    ws = websocket.create_connection(ws_server.url_for("/flaky"), timeout=TIMEOUT)
    ws.close()
    statuses = [status(ws_server, i) for i in range(4)]
    assert statuses == [101, 503, 101, 101]


def test_route_without_handshake_uses_the_server_wide_sequence(ws_server: MockServer) -> None:
    """What a route does not set comes from the server: here the handshake, by index."""
    ws_server.handshake(Handshake.reject(401), Handshake.accept())
    ws_server.route("/ws", script=[send_text("in")])
    with pytest.raises(InvalidStatus):
        first_message(ws_server.url_for("/ws"))
    assert first_message(ws_server.url_for("/ws")) == "in"


def test_route_with_only_a_handshake_runs_the_server_wide_script(ws_server: MockServer) -> None:
    """A route that sets only its handshake keeps the server-wide script."""
    ws_server.script(send_text("from the server"))
    ws_server.route("/slow", handshake=Handshake.accept().delayed(0.01))
    assert first_message(ws_server.url_for("/slow")) == "from the server"
    conn = ws_server.wait_for_connection()
    assert conn.route == "/slow"
    assert conn.handshake is not None
    assert conn.handshake.delay == 0.01


@pytest.mark.asyncio
async def test_route_handler_with_aiohttp(ws_server: MockServer) -> None:
    """A route's handler runs for its connections only (aiohttp's ws_connect)."""

    async def shout(ws: WebSocket) -> None:
        async for message in ws:
            await ws.send_text(message.text.upper())

    ws_server.route("/shout", handler=shout)
    ws_server.route("/echo", handler=echo)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws_server.url_for("/shout")) as ws:
            await ws.send_str("hey")
            assert (await ws.receive(timeout=TIMEOUT)).data == "HEY"
        async with session.ws_connect(ws_server.url_for("/echo")) as ws:
            await ws.send_str("hey")
            assert (await ws.receive(timeout=TIMEOUT)).data == "hey"
    first, second = await ws_server.connection(0), await ws_server.connection(1)
    assert (first.route, second.route) == ("/shout", "/echo")


@pytest.mark.wsmock(strict_routes=True)
def test_strict_routes_answers_unmatched_paths_404(ws_server: MockServer) -> None:
    """With strict_routes, a WebSocket request for a path without a route gets 404 and a
    note; it is still a (refused) connection in the record."""
    ws_server.route("/ws", script=[send_text("ok")])
    with pytest.raises(InvalidStatus) as caught:
        first_message(ws_server.url_for("/typo"))
    assert caught.value.response.status_code == 404
    assert first_message(ws_server.url_for("/ws")) == "ok"
    refused = ws_server.wait_for_connection(0)
    assert refused.handshake.id == "no-route"
    assert refused.route is None
    assert "strict_routes: no route for '/typo'" in refused.notes[0]
    assert "no route for '/typo'" in ws_server.notes[0]
    assert ws_server.wait_for_connection(1).route == "/ws"


def test_strict_routes_from_the_factory(ws_server_factory: ServerFactory) -> None:
    """The factory takes strict_routes too; without routes every path is refused."""
    server = ws_server_factory(strict_routes=True)
    assert server.options.strict_routes
    with pytest.raises(InvalidStatus):
        first_message(server.url_for("/anything"))
    assert status(server, 0) == 404


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "chat"}, "must start with '/'"),
        ({"path": "/chat?x=1"}, "without the query"),
        ({"path": 42}, "str like '/chat' or a compiled regex"),
        ({"path": "/a", "handler": echo, "script": [send_text("x")]}, "not both"),
        ({"path": "/a", "handshake": Handshake.close_before_request()}, "before the request"),
        ({"path": "/a", "handshake": "accept"}, "Handshake values"),
    ],
)
def test_route_config_errors(
    ws_server: MockServer, kwargs: dict[str, object], message: str
) -> None:
    """A route that cannot work is a ConfigError at once, saying why."""
    path = kwargs.pop("path")
    with pytest.raises(ConfigError, match=message):
        ws_server.route(path, **kwargs)  # type: ignore[arg-type]


def test_ini_strict_routes_and_a_failing_route_script(pytester: pytest.Pytester) -> None:
    """ini wsmock_strict_routes turns strict routing on; a route's unmet script step fails
    the test like a server-wide one, naming the route's connection."""
    write_ini(pytester, "wsmock_strict_routes = true")
    pytester.makepyfile(
        """
        import pytest
        import websockets.sync.client
        from websockets.exceptions import InvalidStatus
        from pytest_wsmock import expect_text

        def test_strict(ws_server):
            assert ws_server.options.strict_routes
            with pytest.raises(InvalidStatus):
                websockets.sync.client.connect(ws_server.url_for("/x"), open_timeout=5)

        def test_route_script_fails(ws_server):
            ws_server.route("/chat", script=[expect_text("hello")])
            with websockets.sync.client.connect(ws_server.url_for("/chat"), open_timeout=5) as ws:
                ws.send("goodbye")
            ws_server.wait_for_connection().wait_closed()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    # The failure is reported in the call phase or at teardown, depending on strict mode.
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 1, outcomes
    result.stdout.fnmatch_lines(["*connection #0 (GET /chat)*expect_text*hello*"])


def test_an_unfinished_route_script_fails(pytester: pytest.Pytester) -> None:
    """A route script that did not finish fails the test (it is owed like any script)."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import websockets.sync.client
        from pytest_wsmock import expect_text

        def test_unfinished(ws_server):
            ws_server.route("/chat", script=[expect_text("one"), expect_text("two")])
            with websockets.sync.client.connect(ws_server.url_for("/chat"), open_timeout=5) as ws:
                ws.send("one")
            ws_server.wait_for_connection().wait_closed()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*expect_text*two*"])


def test_expect_text_is_offered_to_the_route_script(ws_server: MockServer) -> None:
    """A route's script reads the client's messages like a server-wide one."""
    ws_server.route("/greet", script=[expect_text("hi"), send_text("hello")])
    with websockets.sync.client.connect(ws_server.url_for("/greet"), open_timeout=TIMEOUT) as ws:
        ws.send("hi")
        assert ws.recv(timeout=TIMEOUT) == "hello"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.script is not None
    assert conn.script.done
    assert conn.script.failure is None


def test_a_routes_rules_answer_before_the_server_wide_ones(ws_server: MockServer) -> None:
    """A route's rules answer its connections, before the server-wide rules; other paths get
    only the server-wide ones."""
    ws_server.on(expect_text("ping"), send_text("server-wide pong"))
    ws_server.route("/feed", rules=[rule(expect_text("ping"), send_text("feed pong"))])
    for path, expected in (("/feed", "feed pong"), ("/other", "server-wide pong")):
        with websockets.sync.client.connect(ws_server.url_for(path), open_timeout=TIMEOUT) as ws:
            ws.send("ping")
            assert ws.recv(timeout=TIMEOUT) == expected
    feed, other = ws_server.wait_for_connection(0), ws_server.wait_for_connection(1)
    assert feed.route == "/feed"
    assert other.route is None
    assert any(note.startswith("rule #0 expect_text('ping') answered") for note in feed.notes)


def test_route_rules_must_be_rules(ws_server: MockServer) -> None:
    """Anything but rule(...) values in a route's rules is refused, naming what to write."""
    with pytest.raises(ConfigError, match=r"rule\(\.\.\.\)"):
        ws_server.route("/feed", rules=[send_text("x")])  # type: ignore[list-item]
