"""The transcript section in failure reports, --wsmock-transcript, and record comparisons."""

from __future__ import annotations

import pytest

from ._support import write_ini

FAILING = """
import websockets.sync.client


def test_fails_after_talking(ws_server):
    with websockets.sync.client.connect(ws_server.url_for("/chat?room=1"), open_timeout=2) as ws:
        ws.send("hello there")
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.received_texts == ["something else"]
"""


def test_a_failing_test_gets_the_transcript_section(pytester: pytest.Pytester) -> None:
    """A failed test that used a server shows request, response, frames and close in its report."""
    write_ini(pytester)
    pytester.makepyfile(FAILING)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- wsmock transcript -*",
            "ws://127.0.0.1:*: 1 connection(s)",
            "connection #0 (GET /chat?room=1) from 127.0.0.1:*",
            "  > GET /chat?room=1 HTTP/1.1",
            "  < HTTP/1.1 101 Switching Protocols",
            "  +0.*s  client -> server  TEXT * masked * B  *",
            "*= Message(client text 11 B 'hello there', compressed)",
            "  +0.*s  client -> server  CLOSE * 2 B  *",
            "  +0.*s  server -> client  CLOSE * 2 B  *",
            "  close: client closed first; client sent 1000 (NORMAL_CLOSURE)*",
        ]
    )


def test_a_passing_test_shows_no_transcript_by_default(pytester: pytest.Pytester) -> None:
    """Without the option, a passing test prints no transcript."""
    write_ini(pytester)
    pytester.makepyfile(FAILING.replace('["something else"]', '["hello there"]'))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "wsmock transcript" not in result.stdout.str()


def test_the_option_shows_transcripts_of_passing_tests(pytester: pytest.Pytester) -> None:
    """--wsmock-transcript prints passing tests' transcripts in a section at the end."""
    write_ini(pytester)
    pytester.makepyfile(FAILING.replace('["something else"]', '["hello there"]'))
    result = pytester.runpytest("--wsmock-transcript")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*wsmock transcripts of passing tests*",
            "*test_the_option_shows_transcripts_of_passing_tests.py::test_fails_after_talking*",
            "connection #0 (GET /chat?room=1) from 127.0.0.1:*",
            "*= Message(client text 11 B 'hello there', compressed)",
        ]
    )


def test_a_teardown_failure_gets_the_transcript_too(pytester: pytest.Pytester) -> None:
    """A strict-mode failure at teardown carries the transcript with the violation in it."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import base64, os, socket

        def test_drops_tcp(ws_server):
            sock = socket.create_connection((ws_server.host, ws_server.port), timeout=5)
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall((
                f"GET / HTTP/1.1\\r\\nHost: 127.0.0.1:{ws_server.port}\\r\\n"
                f"Upgrade: websocket\\r\\n"
                f"Connection: Upgrade\\r\\nSec-WebSocket-Key: {key}\\r\\n"
                "Sec-WebSocket-Version: 13\\r\\n\\r\\n"
            ).encode())
            assert sock.recv(4096).startswith(b"HTTP/1.1 101")
            sock.sendall(b"\\x81\\x02hi")  # unmasked
            sock.recv(4096)
            sock.close()
            ws_server.wait_for_connection().wait_closed()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*ClientViolationError*",
            "*- wsmock transcript -*",
            "  +0.*s  client -> server  TEXT * 2 B  'hi'",
            "  violation: unmasked-frame: * (RFC 6455 section 5.1)",
        ]
    )


def test_comparing_a_message_with_text_explains_itself(pytester: pytest.Pytester) -> None:
    """assert on a list of Message records shows each item and a hint to compare values."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import websockets.sync.client

        def test_compare(ws_server):
            with websockets.sync.client.connect(ws_server.url, open_timeout=2) as ws:
                ws.send("hi")
            conn = ws_server.wait_for_connection()
            conn.wait_closed()
            assert conn.received == ["hi"]
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*record lists differ (1 vs 1 items):",
            "*#0 != Message(client text 2 B 'hi', compressed)  vs  'hi'",
            "*hint: a Message never equals str or bytes*received_values*",
        ]
    )
