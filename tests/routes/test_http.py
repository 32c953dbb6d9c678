"""Plain HTTP on the WebSocket port: ``ws_server.http(...)``, ``http_requests``, the 404 note,
405, bodies, and HTTP on a TLS server; real clients (urllib, httpx, aiohttp)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import aiohttp
import httpx
import pytest
import websocket
import websockets.sync.client

from pytest_wsmock import ConfigError, Handshake, HttpRequest, MockServer, send_text

from ..plugin._support import write_ini

TIMEOUT = 5


def status(server: MockServer, index: int) -> int:
    """The handshake status answered to connection #index."""
    response = server.wait_for_connection(index).response
    assert response is not None
    return response.status


def test_get_json_with_urllib(ws_server: MockServer) -> None:
    """A GET answered with JSON; the record has path, query, headers and the status."""
    ws_server.http("/token", json={"url": ws_server.url_for("/socket"), "ttl": 30})
    url = ws_server.url_for("/token?app=demo&flag", scheme="http")
    request = urllib.request.Request(url, headers={"X-Client": "urllib"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Connection"] == "close"
        assert json.load(response) == {"url": ws_server.url_for("/socket"), "ttl": 30}
    (record,) = ws_server.http_requests
    assert isinstance(record, HttpRequest)
    assert (record.method, record.path, record.query) == ("GET", "/token", "app=demo&flag")
    assert record.query_params == {"app": ["demo"], "flag": [""]}
    assert record.headers.get("x-client") == "urllib"
    assert (record.status, record.route, record.body) == (200, "/token", b"")
    assert ws_server.connections == []
    assert ws_server.notes == []


def test_post_negotiate_with_httpx(ws_server: MockServer) -> None:
    """A SignalR-like negotiate: POST with a body, custom headers and status in the answer."""
    ws_server.http(
        "/hub/negotiate",
        method="POST",
        json={"connectionToken": "abc", "negotiateVersion": 1},
        headers={"X-Served-By": "wsmock"},
    )
    response = httpx.post(
        ws_server.url_for("/hub/negotiate?negotiateVersion=1", scheme="http"),
        json={"client": "httpx"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "wsmock"
    assert response.json() == {"connectionToken": "abc", "negotiateVersion": 1}
    (record,) = ws_server.http_requests
    assert record.method == "POST"
    assert record.json() == {"client": "httpx"}
    assert record.headers.get("Content-Type") == "application/json"
    assert record.query_params == {"negotiateVersion": ["1"]}


def test_text_body_and_status(ws_server: MockServer) -> None:
    """body= text is sent as text/plain with the status asked for."""
    ws_server.http("/health", status=503, body="down for maintenance")
    response = httpx.get(ws_server.url_for("/health", scheme="http"), timeout=TIMEOUT)
    assert (response.status_code, response.text) == (503, "down for maintenance")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert ws_server.http_requests[0].status == 503


def test_unmatched_request_gets_404_and_a_note(ws_server: MockServer) -> None:
    """No http() answer: 404, recorded, and a server note naming the answers there are."""
    ws_server.http("/known")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(ws_server.url_for("/unknown", scheme="http"), timeout=TIMEOUT)
    assert caught.value.code == 404
    caught.value.close()  # urllib keeps the response open in the error
    (record,) = ws_server.http_requests
    assert (record.status, record.route) == (404, None)
    (note,) = ws_server.notes
    assert "GET /unknown" in note
    assert "404" in note
    assert "GET /known" in note


def test_wrong_method_gets_405_with_allow(ws_server: MockServer) -> None:
    """The path has answers, but for other methods: 405 and an Allow header listing them."""
    ws_server.http("/items", method="POST", status=201)
    ws_server.http("/items", method="PUT", status=204)
    response = httpx.delete(ws_server.url_for("/items", scheme="http"), timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST, PUT"
    assert ws_server.http_requests[0].status == 405
    assert "405" in ws_server.notes[0]


def test_regex_path_and_replacement(ws_server: MockServer) -> None:
    """A compiled regex matches the whole path; a later http() for the same path replaces."""
    import re

    ws_server.http(re.compile(r"/users/\d+"), json={"user": True})
    ws_server.http("/users/me", json={"me": 1})
    ws_server.http("/users/me", json={"me": 2})

    def get(path: str) -> httpx.Response:
        return httpx.get(ws_server.url_for(path, scheme="http"), timeout=TIMEOUT)

    assert get("/users/42").json() == {"user": True}
    assert get("/users/me").json() == {"me": 2}
    assert get("/users/42/posts").status_code == 404
    assert [r.route for r in ws_server.http_requests] == [r"/users/\d+", "/users/me", None]


@pytest.mark.asyncio
async def test_aiohttp_session_for_http_then_websocket(ws_server: MockServer) -> None:
    """One aiohttp ClientSession fetches the URL over HTTP, then connects to it: the plain
    request takes no connection index, so script(connection=0) is the WebSocket's."""
    ws_server.http("/connect", json={"url": ws_server.url_for("/ws")})
    ws_server.script(send_text("hello"), connection=0)
    async with aiohttp.ClientSession() as session:
        async with session.get(ws_server.url_for("/connect", scheme="http")) as response:
            assert response.status == 200
            url = (await response.json())["url"]
        async with session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=TIMEOUT)) as ws:
            message = await ws.receive(timeout=TIMEOUT)
            assert message.data == "hello"
    conn = await ws_server.connection()
    assert conn.index == 0
    assert [c.index for c in ws_server.connections] == [0]
    assert len(ws_server.http_requests) == 1


def test_handshake_sequence_counts_websocket_connections_only(ws_server: MockServer) -> None:
    """handshake(reject, accept): plain HTTP calls between the attempts take no turn."""
    ws_server.http("/url", body="ok")
    ws_server.handshake(Handshake.reject(503), Handshake.accept())
    assert httpx.get(ws_server.url_for("/url", scheme="http"), timeout=TIMEOUT).text == "ok"
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(ws_server.url_for("/ws"), timeout=TIMEOUT)
    assert httpx.get(ws_server.url_for("/url", scheme="http"), timeout=TIMEOUT).text == "ok"
    ws = websocket.create_connection(ws_server.url_for("/ws"), timeout=TIMEOUT)
    ws.close()
    assert [status(ws_server, i) for i in range(2)] == [503, 101]
    assert len(ws_server.connections) == 2
    assert len(ws_server.http_requests) == 2


@pytest.mark.wsmock(strict=False)
def test_some_websocket_headers_stay_a_handshake(ws_server: MockServer) -> None:
    """A request with only some upgrade headers is a broken WebSocket handshake (refused,
    listed, its violations recorded), not plain HTTP."""
    with socket.create_connection((ws_server.host, ws_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{ws_server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\n\r\n".encode()
        )
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 426")
    conn = ws_server.wait_for_connection(0)
    assert [v.kind for v in conn.violations] == ["missing-key", "unsupported-version"]
    assert ws_server.http_requests == []


def test_expect_100_continue_is_answered(ws_server: MockServer) -> None:
    """A client that sends Expect: 100-continue gets 100 Continue before it sends the body."""
    ws_server.http("/upload", method="POST", status=201)
    with socket.create_connection((ws_server.host, ws_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(
            f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:{ws_server.port}\r\n"
            f"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        interim = b""
        while not interim.endswith(b"\r\n\r\n") and (chunk := sock.recv(4096)):
            interim += chunk
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"Connection: close\r\n" in answer
    assert ws_server.http_requests[0].body == b"hello"


@pytest.mark.wsmock(max_connections=1)
def test_max_connections_counts_websocket_connections_only(ws_server: MockServer) -> None:
    """With one WebSocket connection open at the limit, plain HTTP is still answered."""
    ws_server.http("/status", json={"ok": True})
    with websockets.sync.client.connect(ws_server.url_for("/ws"), open_timeout=TIMEOUT):
        ws_server.wait_for_connection(0)
        response = httpx.get(ws_server.url_for("/status", scheme="http"), timeout=TIMEOUT)
        assert response.json() == {"ok": True}
    assert len(ws_server.connections) == 1
    assert ws_server.http_requests[0].status == 200


@pytest.mark.wsmock(strict=False)
def test_close_before_request_acts_before_http_can_be_told_apart(ws_server: MockServer) -> None:
    """A server-wide close-before-request closes before anything is read, so a plain HTTP
    call meets it too: it is then a connection (numbered), not an HTTP request."""
    ws_server.http("/status")
    ws_server.handshake(Handshake.close_before_request(), Handshake.accept())
    url = ws_server.url_for("/status", scheme="http")
    # urllib rather than httpx: httpx maps httpcore's errors through a table built once per
    # process, which an in-process pytester run elsewhere in the session can leave stale.
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        urllib.request.urlopen(url, timeout=TIMEOUT)
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        assert response.status == 200
    assert ws_server.wait_for_connection(0).handshake.id == "close-before-request"
    assert len(ws_server.connections) == 1
    assert [r.status for r in ws_server.http_requests] == [200]


def chunks() -> Iterator[bytes]:
    yield b"part one, "
    yield b"part two"


@pytest.mark.wsmock(max_message_size=16)
def test_chunked_and_oversized_bodies_are_refused(ws_server: MockServer) -> None:
    """A chunked body gets 411 (send Content-Length), one over max_message_size gets 413."""
    ws_server.http("/upload", method="POST")
    url = ws_server.url_for("/upload", scheme="http")
    assert httpx.post(url, content=chunks(), timeout=TIMEOUT).status_code == 411
    assert httpx.post(url, content=b"x" * 17, timeout=TIMEOUT).status_code == 413
    assert httpx.post(url, content=b"x" * 16, timeout=TIMEOUT).status_code == 200
    assert [r.status for r in ws_server.http_requests] == [411, 413, 200]
    assert ws_server.http_requests[2].body == b"x" * 16
    assert "411" in ws_server.notes[0]
    assert "413" in ws_server.notes[1]


def test_https_on_wss_server(wss_server: MockServer) -> None:
    """On wss_server the plain-HTTP URL is https, trusted with client_ssl_context()."""
    wss_server.http("/token", json={"url": wss_server.url_for("/ws")})
    url = wss_server.url_for("/token", scheme="https")
    assert url.startswith("https://")
    context = wss_server.client_ssl_context()
    with urllib.request.urlopen(url, timeout=TIMEOUT, context=context) as response:
        ws_url = json.load(response)["url"]
    assert httpx.get(url, verify=wss_server.client_ssl_context(), timeout=TIMEOUT).is_success
    with websockets.sync.client.connect(ws_url, ssl=context, open_timeout=TIMEOUT):
        pass
    assert wss_server.wait_for_connection().index == 0
    assert [r.status for r in wss_server.http_requests] == [200, 200]


def test_url_for_schemes(ws_server: MockServer, wss_server: MockServer) -> None:
    """url_for(scheme=): ws/http on a plain server, wss/https on a TLS one, else ConfigError."""
    port = ws_server.port
    assert ws_server.url_for("/a") == f"ws://127.0.0.1:{port}/a"
    assert ws_server.url_for("a", scheme="ws") == f"ws://127.0.0.1:{port}/a"
    assert ws_server.url_for("/a", scheme="http") == f"http://127.0.0.1:{port}/a"
    assert wss_server.url_for("/a", scheme="https").startswith("https://127.0.0.1:")
    assert wss_server.url_for("/a", scheme="wss").startswith("wss://127.0.0.1:")
    with pytest.raises(ConfigError, match="scheme='http'"):
        ws_server.url_for("/a", scheme="https")
    with pytest.raises(ConfigError, match="scheme='wss'"):
        wss_server.url_for("/a", scheme="ws")
    with pytest.raises(ConfigError, match="scheme='https'"):
        wss_server.url_for("/a", scheme="http")
    with pytest.raises(ConfigError, match="'ws', 'wss', 'http', 'https'"):
        ws_server.url_for("/a", scheme="ftp")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "token"}, "must start with '/'"),
        ({"path": "/a?b=1"}, "without the query"),
        ({"path": "/a", "json": {}, "body": b"x"}, "not both"),
        ({"path": "/a", "headers": {"Content-Length": "3"}}, "writes"),
        ({"path": "/a", "status": 101}, "status"),
    ],
)
def test_http_config_errors(ws_server: MockServer, kwargs: dict[str, object], message: str) -> None:
    """A wrong http() call is a ConfigError saying what to write instead."""
    path = kwargs.pop("path")
    with pytest.raises(ConfigError, match=message):
        ws_server.http(path, **kwargs)  # type: ignore[arg-type]


def test_transcript_lists_http_requests(pytester: pytest.Pytester) -> None:
    """A failing test's report shows the plain-HTTP requests with their status."""
    pytester.makepyfile(
        """
        import httpx

        def test_fails(ws_server):
            ws_server.http("/negotiate", method="POST", json={"ok": True})
            url = ws_server.url_for("/negotiate?v=1", scheme="http")
            assert httpx.post(url, content=b"{}", timeout=5).status_code == 200
            httpx.get(ws_server.url_for("/missing", scheme="http"), timeout=5)
            assert False, "the client never connected"
        """
    )
    write_ini(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*0 connection(s), 2 plain HTTP request(s)",
            "*http #0: POST /negotiate?v=1 -> 200 (http('/negotiate'), 2 byte body)",
            "*http #1: GET /missing -> 404 (no http() answer)",
            "*server note: plain HTTP GET /missing: no http() answer for '/missing'*",
        ]
    )
