"""check_request: the request-target's form and the Host header's port (RFC 6455 section 4.1)."""

from __future__ import annotations

import pytest

from pytest_wsmock._protocol import Headers, Request, RequestParser, check_request

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def request(target: str = "/", host: str | None = "localhost") -> Request:
    """A valid handshake request with the given target and Host (``None``: no Host)."""
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    ]
    if host is not None:
        headers.insert(0, ("Host", host))
    return Request("GET", target, "HTTP/1.1", Headers(headers), b"")


@pytest.mark.parametrize("target", ["/", "/chat?room=1", "//double", "/?", "/a%20b"])
def test_origin_form_targets_are_fine(target: str) -> None:
    """An origin-form target (absolute path, optional query) breaks no rule."""
    assert check_request(request(target)) == []


@pytest.mark.parametrize(
    "target", ["http://localhost/chat", "https://example.com", "HTTP://x:8080/?a=1"]
)
def test_absolute_http_targets_are_fine(target: str) -> None:
    """An absolute http(s) URI is allowed by RFC 6455 section 4.1 item 2 (and RFC 9112 3.2.2)."""
    assert check_request(request(target)) == []


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("?", id="query-only"),
        pytest.param("*", id="asterisk"),
        pytest.param("", id="empty"),
        pytest.param("chat", id="relative"),
        pytest.param("ws://localhost/chat", id="ws-scheme"),
        pytest.param("localhost:8080", id="authority-form"),
        pytest.param("http://", id="no-host"),
    ],
)
def test_other_targets_are_a_400_violation(target: str) -> None:
    """A target that names no resource (not origin-form nor http(s) URI) is invalid-target."""
    violations = check_request(request(target))
    assert [(v.kind, v.status) for v in violations] == [("invalid-target", 400)]
    assert violations[0].rfc == "RFC 6455 section 4.1"
    assert repr(target) in violations[0].detail


def test_parsed_odd_targets_reach_the_check() -> None:
    """Targets the parser accepts, like ``?`` and ``*``, are judged by check_request."""
    for target in (b"?", b"*", b"http://x/"):
        parsed = RequestParser().feed(
            b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY.encode() + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        assert isinstance(parsed, Request)
        kinds = [v.kind for v in check_request(parsed)]
        assert kinds == ([] if target.startswith(b"http") else ["invalid-target"])


def test_absolute_form_path_and_query() -> None:
    """For an absolute-form target, path and query are the URI's (the resource name)."""
    absolute = request("http://localhost:8765/chat?room=1")
    assert (absolute.path, absolute.query) == ("/chat", "room=1")
    assert request("https://localhost").path == "/"
    assert request("/plain?x").path == "/plain"


@pytest.mark.parametrize(
    ("host", "port", "tls"),
    [
        ("127.0.0.1:8765", 8765, False),
        ("[::1]:8765", 8765, False),
        ("localhost:8765", 8765, True),
        ("LOCALHOST:08765", 8765, False),
        ("localhost", 80, False),
        ("localhost", 443, True),
        ("[::1]", 80, False),
        ("localhost:80", 80, False),
        ("localhost:443", 443, True),
        ("anything", None, False),
    ],
)
def test_host_with_the_right_port_is_fine(host: str, port: int | None, tls: bool) -> None:
    """Host carries the server's port, or omits it when that is the default (80 ws, 443 wss)."""
    assert check_request(request(host=host), port=port, tls=tls) == []


@pytest.mark.parametrize(
    ("host", "port", "tls", "shown"),
    [
        pytest.param("127.0.0.1", 8765, False, "no port", id="no-port"),
        pytest.param("[::1]", 8765, False, "no port", id="ipv6-no-port"),
        pytest.param("localhost:", 8765, False, "no port", id="empty-port"),
        pytest.param("localhost", 80, True, "no port", id="wss-default-is-443"),
        pytest.param("localhost", 443, False, "no port", id="ws-default-is-80"),
        pytest.param("127.0.0.1:8766", 8765, False, "port 8766", id="other-port"),
        pytest.param("localhost:80", 443, True, "port 80", id="ws-port-on-wss"),
        pytest.param("[::1]:x", 8765, False, "port 'x'", id="bad-port"),
        pytest.param("::1", 8765, False, "port 1", id="ipv6-unbracketed"),
    ],
)
def test_host_without_the_server_port_is_a_400_violation(
    host: str, port: int, tls: bool, shown: str
) -> None:
    """A Host without the server's non-default port, or with another port, is host-port-mismatch."""
    violations = check_request(request(host=host), port=port, tls=tls)
    assert [(v.kind, v.status) for v in violations] == [("host-port-mismatch", 400)]
    violation = violations[0]
    assert violation.rfc == "RFC 6455 section 4.1"
    assert shown in violation.detail
    assert str(port) in violation.detail


def test_missing_host_is_not_also_a_port_mismatch() -> None:
    """Without a Host header only missing-host is reported."""
    kinds = [v.kind for v in check_request(request(host=None), port=8765)]
    assert kinds == ["missing-host"]


def test_host_port_is_not_checked_without_the_server_port() -> None:
    """Without ``port`` the Host port is not judged (the old call keeps working)."""
    assert check_request(request(host="127.0.0.1")) == []
