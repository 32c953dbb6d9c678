"""Opening-handshake request checks (RFC 6455 section 4.2.1): the HTTP status the server
answers, the headers it adds, the record, and the strict-mode verdict."""

from __future__ import annotations

import base64

import pytest

from pytest_wsmock import MockServer

from ._checks import assert_strict_fails, assert_strict_passes, closed_connection
from ._raw import RawClient, handshake_request

RULE = "RFC 6455 section 4.2.1"

CASES = [
    pytest.param({"Host": None}, ["missing-host"], 400, id="no-host"),
    pytest.param({"Upgrade": None}, ["missing-upgrade"], 400, id="no-upgrade"),
    pytest.param({"Upgrade": "h2c"}, ["missing-upgrade"], 400, id="upgrade-h2c"),
    pytest.param({"Connection": None}, ["missing-connection-upgrade"], 400, id="no-connection"),
    pytest.param(
        {"Connection": "keep-alive"}, ["missing-connection-upgrade"], 400, id="keep-alive-only"
    ),
    pytest.param({"Sec_WebSocket_Key": None}, ["missing-key"], 400, id="no-key"),
    pytest.param({"Sec_WebSocket_Key": "not base64!"}, ["invalid-key"], 400, id="key-not-base64"),
    pytest.param(
        {"Sec_WebSocket_Key": base64.b64encode(b"15 bytes only!!").decode()},
        ["invalid-key"],
        400,
        id="key-of-15-bytes",
    ),
    pytest.param({"Sec_WebSocket_Version": "8"}, ["unsupported-version"], 426, id="version-8"),
    pytest.param({"Sec_WebSocket_Version": None}, ["unsupported-version"], 426, id="no-version"),
    pytest.param({"method": "POST"}, ["method-not-get"], 400, id="post"),
    pytest.param({"http_version": "HTTP/1.0"}, ["http-version-too-old"], 400, id="http-1.0"),
    pytest.param(
        {"method": "POST", "Sec_WebSocket_Key": None},
        ["method-not-get", "missing-key"],
        400,
        id="post-and-no-key",
    ),
    pytest.param(
        {"Host": None, "Sec_WebSocket_Version": "12"},
        ["missing-host", "unsupported-version"],
        426,
        id="no-host-and-version-12",
    ),
]


@pytest.mark.parametrize(("changes", "kinds", "status"), CASES)
def test_bad_handshake_request(
    server: MockServer, changes: dict[str, str | None], kinds: list[str], status: int
) -> None:
    """A bad request gets 400 (426 for the version), is recorded, and strict fails."""
    request = handshake_request(server.host, server.port, **changes)
    with RawClient.open(server.host, server.port, request) as client:
        response = client.read_response()
        assert client.read_eof() == b""
    assert response.status == status
    assert response.header("Connection") == "close"
    if status == 426:
        # Section 4.4: tell the client which version the server speaks.
        assert response.header("Sec-WebSocket-Version") == "13"
    else:
        assert response.header("Sec-WebSocket-Version") is None
    assert response.header("Sec-WebSocket-Accept") is None
    body = response.body.decode()
    for kind in kinds:
        assert f"{kind}: " in body
        assert f"({RULE})" in body

    conn = closed_connection(server)
    assert not conn.accepted
    assert conn.response is not None
    assert conn.response.status == status
    assert [(v.kind, v.rfc) for v in conn.violations] == [(kind, RULE) for kind in kinds]
    assert conn.request is not None
    assert conn.request.method == changes.get("method", "GET")
    assert_strict_fails(server, *kinds)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"Connection": "keep-alive, Upgrade"}, id="connection-list"),
        pytest.param({"Upgrade": "WebSocket", "Connection": "upgrade"}, id="any-case"),
        pytest.param({"http_version": "HTTP/1.2"}, id="http-1.2"),
    ],
)
def test_acceptable_variations(server: MockServer, changes: dict[str, str | None]) -> None:
    """Token lists, other letter cases and later HTTP/1.x versions are accepted (101)."""
    request = handshake_request(server.host, server.port, **changes)
    with RawClient.open(server.host, server.port, request) as client:
        assert client.read_response().status == 101
        client.send_close(1000)
        client.read_close()
        client.read_eof()
    conn = closed_connection(server)
    assert conn.accepted
    assert conn.violations == []
    assert_strict_passes(server)
