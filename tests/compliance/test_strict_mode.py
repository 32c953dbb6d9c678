"""Strict mode end to end, through pytester: a broken client fails the test (call phase) with a
message naming the violation and its RFC section; strict=False lets it pass; limits never
fail it."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The inner run's ini: as strict as the project's, without plugins the inner tests do not need.
INI = """\
[pytest]
addopts = -p no:hypothesispytest -p no:benchmark --strict-markers
filterwarnings =
    error
asyncio_default_fixture_loop_scope = function
"""

RAW_MODULE = Path(__file__).with_name("_raw.py").read_text(encoding="utf-8")

INNER = """
import pytest

from _raw import TIMEOUT, RawClient, handshake_request


@pytest.mark.wsmock(MARKER)
def test_broken_client(ws_server):
BODY
    conn = ws_server.wait_for_connection(0, timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert [v.kind for v in conn.violations] == [KIND]
"""

#: (kind, RFC section, marker options, test body): one representative per family of checks.
CASES = [
    pytest.param(
        "invalid-utf8",
        "RFC 6455 section 8.1",
        "",
        """
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        client.send_frame(0x1, b"\\xc3", fin=False)
        client.send_frame(0x0, b"\\x28")
        assert client.read_close().close_code == 1007
        client.read_eof()
""",
        id="invalid-utf8",
    ),
    pytest.param(
        "invalid-close-code",
        "RFC 6455 section 7.4.1",
        "",
        """
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        client.send_close(1005)
        assert client.read_close().close_code == 1002
        client.read_eof()
""",
        id="invalid-close-code",
    ),
    pytest.param(
        "pong-mismatch",
        "RFC 6455 section 5.5.3",
        "",
        """
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        ws_server.wait_for_connection(0, timeout=TIMEOUT).ping(b"x")
        assert client.read_frame().payload == b"x"
        client.send_frame(0xA, b"not x")
        client.send_close(1000)
        client.read_close()
        client.read_eof()
""",
        id="pong-mismatch",
    ),
    pytest.param(
        "no-close-reply",
        "RFC 6455 section 5.5.1",
        "close_timeout=0.2",
        """
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        ws_server.wait_for_connection(0, timeout=TIMEOUT).send_close(1000)
        assert client.read_close().close_code == 1000
        client.read_eof()
""",
        id="no-close-reply",
    ),
    pytest.param(
        "no-closing-handshake",
        "RFC 6455 sections 5.5.1 and 7.1.1",
        "",
        """
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        ws_server.wait_for_connection(0, timeout=TIMEOUT)
        client.close_tcp()
""",
        id="no-closing-handshake",
    ),
    pytest.param(
        "missing-key",
        "RFC 6455 section 4.2.1",
        "",
        """
    request = handshake_request(ws_server.host, ws_server.port, Sec_WebSocket_Key=None)
    with RawClient.open(ws_server.host, ws_server.port, request) as client:
        assert client.read_response().status == 400
        client.read_eof()
""",
        id="missing-key",
    ),
]


def make_inner(pytester: pytest.Pytester, kind: str, marker: str, body: str) -> None:
    """Write the inner ini, the raw client module and the inner test file."""
    pytester.makeini(INI)
    pytester.makepyfile(_raw=RAW_MODULE)
    code = INNER.replace("MARKER", marker).replace("BODY", body).replace("KIND", repr(kind))
    pytester.makepyfile(test_inner=code)


@pytest.mark.parametrize(("kind", "rfc", "marker", "body"), CASES)
def test_strict_mode_fails_the_test(
    pytester: pytest.Pytester, kind: str, rfc: str, marker: str, body: str
) -> None:
    """The test fails (in its call phase, not at teardown) naming the violation and RFC section."""
    make_inner(pytester, kind, marker, body)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*_ test_broken_client _*",
            "*ClientViolationError: the client under test broke the WebSocket protocol "
            "(1 violation):",
            f"*connection #0 (GET /): {kind}: *({rfc})",
            f"*(to allow this, pass allow=[[]'{kind}'] or strict=False to the wsmock marker or "
            "the factory)",
        ]
    )


@pytest.mark.parametrize(("kind", "rfc", "marker", "body"), CASES)
def test_strict_false_passes(
    pytester: pytest.Pytester, kind: str, rfc: str, marker: str, body: str
) -> None:
    """With strict=False in the marker, the same broken client lets the test pass."""
    make_inner(pytester, kind, ", ".join(filter(None, [marker, "strict=False"])), body)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_strict_false_in_the_factory_passes(pytester: pytest.Pytester) -> None:
    """ws_server_factory(strict=False) turns strict mode off for that server only."""
    pytester.makeini(INI)
    pytester.makepyfile(_raw=RAW_MODULE)
    pytester.makepyfile(
        test_inner="""
        from _raw import TIMEOUT, RawClient


        def test_lenient_server(ws_server_factory):
            server = ws_server_factory(strict=False)
            with RawClient.connect(server.host, server.port) as client:
                client.send_frame(0x1, b"x", masked=False)
                assert client.read_close().close_code == 1002
                client.read_eof()
            conn = server.wait_for_connection(0, timeout=TIMEOUT)
            conn.wait_closed(timeout=TIMEOUT)
            assert [v.kind for v in conn.violations] == ["unmasked-frame"]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


LIMIT_CASES = [
    pytest.param(
        "max_message_size=100",
        """
    with RawClient.connect(ws_server.host, ws_server.port) as client:
        client.send_frame(0x2, b"x" * 101)
        assert client.read_close().close_code == 1009
        client.read_eof()
""",
        "frame-too-large",
        id="max_message_size",
    ),
    pytest.param(
        "max_header_size=512",
        """
    request = handshake_request(ws_server.host, ws_server.port, X_Padding="p" * 1000)
    with RawClient.open(ws_server.host, ws_server.port, request) as client:
        assert client.read_response().status == 431
        client.read_eof()
""",
        "headers-too-large",
        id="max_header_size",
    ),
]


@pytest.mark.parametrize(("marker", "body", "kind"), LIMIT_CASES)
def test_limits_do_not_fail_strict_mode(
    pytester: pytest.Pytester, marker: str, body: str, kind: str
) -> None:
    """Going over a limit is answered and recorded, but a strict test still passes."""
    make_inner(pytester, kind, marker, body)
    pytester.runpytest().assert_outcomes(passed=1)
