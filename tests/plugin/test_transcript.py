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
            # websockets compresses: the message is shown decoded, with its size on the wire.
            "  +0.*s  client -> server  TEXT * fin rsv1 masked * 11 B (deflate, * B on the wire)"
            "  'hello there'",
            "  +0.*s  client -> server  CLOSE * 2 B  1000 (NORMAL_CLOSURE)",
            "  +0.*s  server -> client  CLOSE * 2 B  1000 (NORMAL_CLOSURE)",
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
            "*client -> server  TEXT * 11 B (deflate, * B on the wire)  'hello there'",
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


# -- the preview width ---------------------------------------------------------------------------

LONG_MESSAGE = """
import websockets.sync.client


def test_long_message(ws_server):
    with websockets.sync.client.connect(ws_server.url, open_timeout=2) as ws:
        ws.send("x" * 300)
    ws_server.wait_for_connection().wait_closed()
    assert False
"""


def test_the_preview_width_defaults_to_120(pytester: pytest.Pytester) -> None:
    write_ini(pytester)
    pytester.makepyfile(LONG_MESSAGE)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*client -> server  TEXT * 300 B * 'xxx*x'...(+180 chars)"])
    assert "x" * 121 not in result.stdout.str()


def test_the_preview_option_sets_the_width(pytester: pytest.Pytester) -> None:
    """--wsmock-preview=N wins over the ini key; 0 shows payloads whole."""
    write_ini(pytester, "wsmock_preview = 10")
    pytester.makepyfile(LONG_MESSAGE)
    result = pytester.runpytest("--wsmock-preview=40")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*client -> server  TEXT * 300 B * '{'x' * 40}'...(+260 chars)"])
    result = pytester.runpytest("--wsmock-preview", "0")
    result.stdout.fnmatch_lines([f"*client -> server  TEXT * 300 B * '{'x' * 300}'"])


def test_the_preview_ini_key_sets_the_width(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "wsmock_preview = 10")
    pytester.makepyfile(LONG_MESSAGE)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*client -> server  TEXT * 300 B * 'xxxxxxxxxx'...(+290 chars)"])


@pytest.mark.parametrize(
    ("ini", "args", "said"),
    [
        ((), ("--wsmock-preview=wide",), "--wsmock-preview: the preview width must be*'wide'*"),
        ((), ("--wsmock-preview=-5",), "--wsmock-preview: *got '-5'*"),
        (("wsmock_preview = 1.5",), (), "the wsmock_preview ini key: *got '1.5'*"),
    ],
)
def test_a_bad_preview_width_is_one_usage_error(
    pytester: pytest.Pytester, ini: tuple[str, ...], args: tuple[str, ...], said: str
) -> None:
    write_ini(pytester, *ini)
    pytester.makepyfile(LONG_MESSAGE + LONG_MESSAGE.replace("test_long_message", "test_two"))
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {said}"])
    assert result.stderr.str().count("preview width") == 1
    assert "test_two" not in result.stdout.str()  # nothing ran


# -- the last frames, once -----------------------------------------------------------------------


def test_an_assertion_failure_lists_the_frames_once(pytester: pytest.Pytester) -> None:
    """assert_received's RecordMismatch points to the transcript, which lists the frames."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import json
        import websockets.sync.client

        def test_subscribe(ws_server):
            with websockets.sync.client.connect(ws_server.url, open_timeout=2) as ws:
                ws.send(json.dumps({"type": "subscribe", "id": "7"}))
            conn = ws_server.wait_for_connection()
            conn.wait_closed()
            conn.assert_received({"type": "subscribe", "id": "1"})
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*RecordMismatch: connection #0 (GET /): the client's messages do not match*",
            "E*#0 MISMATCH*",
            "E*last frames: see the wsmock transcript below",
            "*- wsmock transcript -*",
            '*client -> server  TEXT * (deflate, * B on the wire)  (compacted) {"type":"subscribe",'
            '"id":"7"}',
        ]
    )
    output = result.stdout.str()
    assert "last frames seen" not in output
    assert output.count("client -> server  TEXT") == 1


CALL_AND_TEARDOWN = """

@pytest.fixture
def dropped():
    held = []
    yield held
    for ws in held:
        ws.socket.close()  # at teardown, before the server's: TCP ends without a close frame


def test_fails_twice(ws_server, dropped):
    ws_server.script(expect_text("hello"))
    stack = contextlib.ExitStack()  # never closed: the fixture drops the connection instead
    ws = stack.enter_context(websockets.sync.client.connect(ws_server.url, open_timeout=2))
    dropped.append(ws)
    ws.send("hello")
    ws_server.wait_for_connection().wait_for_message()
    assert False, "the test's own failure"
"""


def test_a_teardown_error_after_a_failed_call_shows_only_what_changed(
    pytester: pytest.Pytester,
) -> None:
    """The call's report has the transcript; the teardown's (a violation while a fixture
    drops the client) only the lines that changed since: the frames already shown are not
    repeated."""
    write_ini(pytester)
    pytester.makepyfile(
        "import contextlib\nimport pytest\nimport websockets.sync.client\n"
        "from pytest_wsmock import expect_text\n" + CALL_AND_TEARDOWN
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_fails_twice*",
            "E*ClientViolationError*",
            "*no-closing-handshake: the client closed TCP (FIN) without sending a close frame*",
            "*- wsmock transcript -*",
            "(what changed since the call report of this test, which shows the rest)",
            "connection #0 (GET /) from 127.0.0.1:*",
            "  close: *",
            "*FAILURES*",
            "*AssertionError: the test's own failure*",
            "*- wsmock transcript -*",
            "  +0.*s  client -> server  TEXT * 5 B * 'hello'",
            "  still open",
        ]
    )
    assert result.stdout.str().count("client -> server  TEXT") == 1
