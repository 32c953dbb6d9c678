"""Secrets: headers, query parameters, the message hook and literal values never reach the
file."""

from __future__ import annotations

import json

import pytest

from pytest_wsmock._cassette import (
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
    Side,
)
from pytest_wsmock._cassette_io import dumps
from pytest_wsmock._cassette_secrets import (
    DEFAULT_SECRET_HEADERS,
    DEFAULT_SECRET_QUERY,
    Secrets,
    scrub,
)
from pytest_wsmock._errors import ConfigError

from ._support import TOKEN, sample


def leaky() -> Cassette:
    """A cassette with the token in every place a credential turns up."""
    connection = CassetteConnection(
        request=CassetteRequest(
            path=f"/feed?symbol=BTC&Token={TOKEN}&api_key={TOKEN}&sig=&flag&x=1",
            headers=(
                ("Host", "127.0.0.1"),
                ("authorization", f"Bearer {TOKEN}"),
                ("Cookie", f"session={TOKEN}"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("X-Api-Key", TOKEN),
                ("X-Trace", "abc"),
            ),
        ),
        response=CassetteResponse(
            status=101,
            reason="Switching Protocols",
            headers=(
                ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                ("Set-Cookie", f"session={TOKEN}; HttpOnly"),
                ("Upgrade", "websocket"),
            ),
        ),
        events=(
            CassetteMessage("client", "text", f'{{"op":"auth","token":"{TOKEN}"}}', 0.01),
            CassetteMessage("server", "text", '{"op":"ok"}', 0.02),
            CassetteMessage("server", "binary", b"\x00" + TOKEN.encode() + b"\x01", 0.03),
            CassetteClose("server", 4001, f"bad token {TOKEN}", 0.04),
        ),
    )
    return Cassette(connections=(connection,))


def _hide_token(side: Side, data: str | bytes) -> str | bytes:
    if isinstance(data, str) and data.startswith("{"):
        value = json.loads(data)
        if "token" in value:
            value["token"] = "<token>"
        return json.dumps(value, separators=(",", ":"))
    return data


def test_default_headers_and_query() -> None:
    """Credential headers and token-like parameters are FILTERED; names and order stay."""
    connection = scrub(leaky(), Secrets()).connections[0]
    assert connection.request.path == (
        "/feed?symbol=BTC&Token=FILTERED&api_key=FILTERED&sig=FILTERED&flag&x=1"
    )
    assert connection.request.headers == (
        ("Host", "127.0.0.1"),
        ("authorization", "FILTERED"),
        ("Cookie", "FILTERED"),
        ("Sec-WebSocket-Key", "FILTERED"),
        ("X-Api-Key", "FILTERED"),
        ("X-Trace", "abc"),
    )
    assert connection.response.headers == (
        ("Sec-WebSocket-Accept", "FILTERED"),
        ("Set-Cookie", "FILTERED"),
        ("Upgrade", "websocket"),
    )
    # Messages are the hook's business: by default they are kept.
    assert connection.events == leaky().connections[0].events


def test_defaults_are_the_documented_lists() -> None:
    assert Secrets().headers == DEFAULT_SECRET_HEADERS
    assert "Sec-WebSocket-Key" in DEFAULT_SECRET_HEADERS
    assert "Authorization" in DEFAULT_SECRET_HEADERS
    assert Secrets().query == DEFAULT_SECRET_QUERY
    assert {"token", "access_token", "api_key", "jwt"} <= set(DEFAULT_SECRET_QUERY)


def test_message_hook_and_the_token_never_reaches_the_file() -> None:
    """With the hook and the literal value, the token is nowhere in the file."""
    assert TOKEN in dumps(scrub(leaky(), Secrets()))  # the test can fail
    secrets = Secrets(message=_hide_token).replacing(TOKEN)
    text = dumps(scrub(leaky(), secrets))
    assert TOKEN not in text
    events = scrub(leaky(), secrets).connections[0].events
    assert events[0] == CassetteMessage("client", "text", '{"op":"auth","token":"<token>"}', 0.01)
    assert events[2] == CassetteMessage("server", "binary", b"\x00FILTERED\x01", 0.03)
    assert events[3] == CassetteClose("server", 4001, "bad token FILTERED", 0.04)


def test_hook_sees_side_and_data() -> None:
    seen: list[tuple[Side, str | bytes]] = []

    def hook(side: Side, data: str | bytes) -> str | bytes:
        seen.append((side, data))
        return data

    scrub(leaky(), Secrets(message=hook))
    assert [side for side, _ in seen] == ["client", "server", "server"]
    assert isinstance(seen[2][1], bytes)


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (None, "returned NoneType for connection #0, event #0, a text message; it must return str"),
        (b"x", "returned bytes for connection #0, event #0, a text message; it must return str"),
    ],
)
def test_hook_must_return_the_same_type(returned: object, expected: str) -> None:
    def hook(side: Side, data: str | bytes) -> str | bytes:
        return returned  # type: ignore[return-value]

    with pytest.raises(ConfigError) as info:
        scrub(leaky(), Secrets(message=hook))
    assert expected in str(info.value)


def test_hook_text_for_binary_is_refused() -> None:
    def hook(side: Side, data: str | bytes) -> str | bytes:
        return data.decode("latin-1") if isinstance(data, bytes) else data

    with pytest.raises(ConfigError, match=r"event #2, a binary message; it must return bytes"):
        scrub(leaky(), Secrets(message=hook))


def test_custom_lists_and_placeholder() -> None:
    secrets = Secrets(headers=["X-Trace"], query=("symbol",), placeholder="<hidden>")  # type: ignore[arg-type]
    connection = scrub(leaky(), secrets).connections[0]
    assert secrets.headers == ("X-Trace",)  # a list becomes a tuple
    assert connection.request.path.startswith(f"/feed?symbol=%3Chidden%3E&Token={TOKEN}&")
    assert ("X-Trace", "<hidden>") in connection.request.headers
    assert ("authorization", f"Bearer {TOKEN}") in connection.request.headers


def test_literal_values_everywhere() -> None:
    """replacing() filters a value in the path, subprotocols, bodies and reasons too; the
    longest value first."""
    cassette = Cassette(
        connections=(
            CassetteConnection(
                CassetteRequest(f"/x/{TOKEN}", (("X-Other", f"t={TOKEN}"),), (f"bearer.{TOKEN}",)),
                CassetteResponse(401, f"no {TOKEN}", body=f"token {TOKEN} refused".encode()),
            ),
        )
    )
    secrets = Secrets(headers=(), query=()).replacing(TOKEN[:6], TOKEN)
    connection = scrub(cassette, secrets).connections[0]
    assert connection.request.path == "/x/FILTERED"
    assert connection.request.headers == (("X-Other", "t=FILTERED"),)
    assert connection.request.subprotocols == ("bearer.FILTERED",)
    assert connection.response.reason == "no FILTERED"
    assert connection.response.body == b"token FILTERED refused"


def test_scrub_keeps_match_rules_and_what_has_no_secret() -> None:
    cassette = sample()
    scrubbed = scrub(cassette, Secrets())
    assert scrubbed.match == cassette.match
    assert scrubbed == cassette  # the sample has no credential


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"headers": "Authorization"}, "Secrets(headers=...) must be a list of names"),
        ({"query": "token"}, "Secrets(query=...) must be a list of names"),
        ({"query": ("token", "")}, "must hold non-empty strings"),
        ({"values": (None,)}, "Secrets(values=...) must hold non-empty strings"),
        ({"message": "hide"}, "Secrets(message=...) must be a function"),
        ({"placeholder": None}, "Secrets(placeholder=...) must be a string"),
    ],
)
def test_bad_secrets(kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        Secrets(**kwargs)  # type: ignore[arg-type]
    assert expected in str(info.value)
