"""The transcript escapes what the client controls and masks credentials unless asked not to."""

from __future__ import annotations

import pytest
import websocket

from pytest_wsmock import Connection, MockServer
from pytest_wsmock._transcript import clean, mask_credential, render_connection

from ._support import write_ini

#: Shaped like a real bearer token (a JWT); it must never appear in a masked transcript.
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.s3cr3t-s1gn4"
EVIL = "red\x1b[31mALERT\x1b[0m\x07\x1b]0;owned\x07"


def _talk(server: MockServer) -> Connection:
    """A real client (websocket-client, which sends header values as given) says hi and leaves."""
    ws = websocket.create_connection(
        server.url_for("/feed"),
        timeout=5,
        header=[
            f"Authorization: Bearer {TOKEN}",
            "Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==",
            "Cookie: session=s3cr3t-cookie; theme=dark",
            f"X-Evil: {EVIL}",
            "Sec-WebSocket-Protocol: chat\x1b[2J",
        ],
    )
    ws.send("hi\x1b[2J")
    ws.close(reason=b"bye\x1b[0m")
    conn = server.wait_for_connection()
    conn.wait_closed()
    return conn


def test_escape_sequences_from_the_client_are_escaped(ws_server: MockServer) -> None:
    """Control characters in headers, messages and close reasons are shown as \\x1b, never raw."""
    _talk(ws_server)
    text = ws_server.transcript()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert r"  >   X-Evil: red\x1b[31mALERT\x1b[0m\x07\x1b]0;owned\x07" in text
    assert r"  >   Sec-WebSocket-Protocol: chat\x1b[2J" in text
    assert r"'hi\x1b[2J'" in text


def test_credentials_are_masked_by_default(ws_server: MockServer) -> None:
    """Authorization, Proxy-Authorization and Cookie values are masked; schemes and names stay."""
    conn = _talk(ws_server)
    text = ws_server.transcript()
    assert TOKEN not in text
    assert "s3cr3t-cookie" not in text
    assert "dXNlcjpwYXNzd29yZA==" not in text
    assert f"  >   Authorization: Bearer ***({len(TOKEN)} chars)" in text
    assert "  >   Proxy-Authorization: Basic ***(20 chars)" in text
    assert "  >   Cookie: session=***(13 chars); theme=***(4 chars)" in text
    # The record itself keeps the real value: only the report hides it.
    assert conn.request is not None
    assert conn.request.headers.get("Authorization") == f"Bearer {TOKEN}"
    assert TOKEN not in conn.transcript()


@pytest.mark.wsmock(show_credentials=True)
def test_show_credentials_shows_them(ws_server: MockServer) -> None:
    """With show_credentials=True the transcript shows credentials in full (still escaped)."""
    conn = _talk(ws_server)
    text = ws_server.transcript()
    assert f"  >   Authorization: Bearer {TOKEN}" in text
    assert "  >   Cookie: session=s3cr3t-cookie; theme=dark" in text
    assert "\x1b" not in text
    assert TOKEN in render_connection(conn, show_credentials=True)
    assert TOKEN not in render_connection(conn)


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("Authorization", "Bearer abc", "Bearer ***(3 chars)"),
        ("authorization", "justatoken", "***(10 chars)"),
        ("Authorization", "", ""),
        ("Proxy-Authorization", 'Digest username="u", response="r"', "Digest ***(26 chars)"),
        ("Cookie", "a=1;b=22", "a=***(1 chars); b=***(2 chars)"),
        ("Cookie", "lonely", "***(6 chars)"),
        ("Set-Cookie", "id=abc; Path=/; HttpOnly", "id=***(3 chars); Path=/; HttpOnly"),
        ("X-Other", "Bearer abc", "Bearer abc"),
    ],
)
def test_mask_credential(name: str, value: str, shown: str) -> None:
    """Credential headers keep their scheme or cookie names; other headers are left alone."""
    assert mask_credential(name, value) == shown


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b[31m", r"\x1b[31m"),
        ("a\r\nb\tc", r"a\r\nb\tc"),
        ("\u202eevil", r"\u202eevil"),  # a bidi override, which reorders what the terminal shows
        ("caf\xe9 \u00e0 \u4e2d", "caf\xe9 \u00e0 \u4e2d"),  # printable non-ASCII stays readable
        ("\x7f\x85", r"\x7f\x85"),
    ],
)
def test_clean(raw: str, shown: str) -> None:
    """Non-printable characters are escaped the way Python writes them; the rest is kept."""
    assert clean(raw) == shown


FAILING = f"""
import websocket


def test_fails(ws_server):
    ws = websocket.create_connection(
        ws_server.url, timeout=5, header=["Authorization: Bearer {TOKEN}", "X-Evil: {EVIL!s}"]
    )
    ws.close()
    ws_server.wait_for_connection().wait_closed()
    assert False, "the client misbehaved"
"""


def test_the_failure_report_has_no_raw_escape_bytes(pytester: pytest.Pytester) -> None:
    """The report's transcript section shows escapes as text and masks the token."""
    write_ini(pytester)
    pytester.makepyfile(FAILING.replace("\x1b", "\\x1b").replace("\x07", "\\x07"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    section = output[output.index("wsmock transcript") :]
    assert "\x1b" not in section
    assert "\x07" not in section
    assert TOKEN not in section
    result.stdout.fnmatch_lines(
        [
            "*- wsmock transcript -*",
            f"  >   Authorization: Bearer ***({len(TOKEN)} chars)",
            r"  >   X-Evil: red\x1b[[]31mALERT\x1b[[]0m\x07\x1b]0;owned\x07",
        ]
    )


def test_the_ini_key_shows_credentials(pytester: pytest.Pytester) -> None:
    """wsmock_show_credentials = true turns the masking off for the whole suite."""
    write_ini(pytester, "wsmock_show_credentials = true")
    pytester.makepyfile(FAILING.replace("\x1b", "\\x1b").replace("\x07", "\\x07"))
    result = pytester.runpytest("--strict-config")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"  >   Authorization: Bearer {TOKEN}"])
    assert "\x1b" not in result.stdout.str()
