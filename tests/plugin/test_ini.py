"""The ini options: defaults for every server, their effects, and their validation."""

from __future__ import annotations

import socket

import pytest

from ._support import write_ini


def test_ini_timeout_bounds_waits(pytester: pytest.Pytester) -> None:
    """wsmock_timeout = 0.5 makes wait_for_connection() give up after about 0.5 s, saying why."""
    write_ini(pytester, "wsmock_timeout = 0.5")
    pytester.makepyfile(
        """
        import time

        import pytest

        from pytest_wsmock import WaitTimeout


        def test_no_client(ws_server):
            start = time.monotonic()
            with pytest.raises(WaitTimeout) as excinfo:
                ws_server.wait_for_connection()
            elapsed = time.monotonic() - start
            # Ended by its own 0.5 s timeout (the upper bound only rules out a far later end).
            assert 0.45 <= elapsed < 10, elapsed
            message = str(excinfo.value)
            assert "after 0.5 s" in message
            assert f"connection #0 to {ws_server.url}" in message
            assert "no connection arrived" in message
            assert isinstance(excinfo.value, AssertionError)
            assert isinstance(excinfo.value, TimeoutError)


        def test_uncaught_timeout_fails_the_test(ws_server):
            ws_server.wait_for_connection()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*WaitTimeout: timed out after 0.5 s waiting for connection #0 to ws://127.0.0.1:*"]
    )


def test_ini_values_reach_the_server_options(pytester: pytest.Pytester) -> None:
    """Every ini key sets the matching ServerOptions default."""
    write_ini(
        pytester,
        "wsmock_host = localhost",
        "wsmock_backend = asyncio",
        "wsmock_timeout = 3",
        "wsmock_close_timeout = 0.25",
        "wsmock_handshake_timeout = 4.5",
        "wsmock_max_message_size = 1000",
        "wsmock_max_header_size = 2048",
        "wsmock_strict = false",
    )
    pytester.makepyfile(
        """
        from pytest_wsmock import ServerOptions


        def test_options(ws_server):
            assert ws_server.options == ServerOptions(
                host="localhost",
                backend="asyncio",
                timeout=3.0,
                close_timeout=0.25,
                handshake_timeout=4.5,
                max_message_size=1000,
                max_header_size=2048,
                strict=False,
            )
            assert ws_server.url == f"ws://localhost:{ws_server.port}"
        """
    )
    result = pytester.runpytest("--strict-config")
    result.assert_outcomes(passed=1)


def test_ini_limits_apply(pytester: pytest.Pytester) -> None:
    """wsmock_max_header_size and wsmock_max_message_size give HTTP 431 and close 1009."""
    write_ini(
        pytester,
        "wsmock_max_header_size = 1024",
        "wsmock_max_message_size = 100",
        "wsmock_strict = false",
    )
    pytester.makepyfile(
        """
        import pytest
        import websockets
        import websockets.sync.client


        def test_header_too_large(ws_server):
            with pytest.raises(websockets.InvalidStatus) as excinfo:
                with websockets.sync.client.connect(
                    ws_server.url, additional_headers={"X-Big": "x" * 2000}, open_timeout=5
                ):
                    pass
            assert excinfo.value.response.status_code == 431
            conn = ws_server.wait_for_connection()
            assert [v.kind for v in conn.violations] == ["headers-too-large"]


        def test_message_too_big(ws_server):
            with websockets.sync.client.connect(ws_server.url, compression=None) as ws:
                ws.send("x" * 101)
                with pytest.raises(websockets.ConnectionClosedError):
                    ws.recv(timeout=5)
            conn = ws_server.wait_for_connection()
            info = conn.wait_closed()
            assert info.server_code == 1009
            # A single frame over the limit is caught before its payload is read.
            assert [v.kind for v in conn.violations] == ["frame-too-large"]
            assert conn.violations[0].close_code == 1009
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def _ipv6_loopback_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback_available(), reason="IPv6 loopback (::1) is unavailable")
def test_ini_host_ipv6(pytester: pytest.Pytester) -> None:
    """wsmock_host = ::1 gives a ws://[::1]:port URL that a client can use."""
    write_ini(pytester, "wsmock_host = ::1")
    pytester.makepyfile(
        """
        import websockets.sync.client


        def test_ipv6(ws_server):
            assert ws_server.url == f"ws://[::1]:{ws_server.port}"
            with websockets.sync.client.connect(ws_server.url) as ws:
                ws.send("v6")
            conn = ws_server.wait_for_connection()
            conn.wait_closed()
            assert conn.peer[0] == "::1"
            assert conn.received_texts == ["v6"]
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "wsmock_timeout = soon",
            "*ini option wsmock_timeout has an invalid value 'soon'*",
            id="timeout-not-a-number",
        ),
        pytest.param(
            "wsmock_close_timeout = -1",
            "*in the ini file: wsmock option close_timeout must be a positive*",
            id="close-timeout-negative",
        ),
        pytest.param(
            "wsmock_max_message_size = 1.5",
            "*ini option wsmock_max_message_size has an invalid value '1.5'*",
            id="size-not-an-int",
        ),
        pytest.param(
            "wsmock_strict = maybe",
            "*ini option wsmock_strict has an invalid value 'maybe'*",
            id="strict-not-a-bool",
        ),
        pytest.param(
            "wsmock_backend = curio",
            "*in the ini file: wsmock option backend must be one of asyncio, trio*",
            id="unknown-backend",
        ),
        pytest.param(
            "wsmock_host = 8.8.8.8",
            "*in the ini file: wsmock option host must be a loopback address*",
            id="host-not-loopback",
        ),
    ],
)
def test_invalid_ini_value_fails_clearly(
    pytester: pytest.Pytester, line: str, expected: str
) -> None:
    """An invalid ini value stops the run once, at start-up, with a usage error that names the
    key and the value."""
    write_ini(pytester, line)
    pytester.makepyfile(
        """
        def test_uses_server(ws_server):
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])


def test_unknown_ini_key_fails_under_strict_config(pytester: pytest.Pytester) -> None:
    """A misspelt wsmock ini key is a usage error (with or without --strict-config, which
    accepts the real keys: they are registered), naming the closest key."""
    write_ini(pytester, "wsmock_timout = 2")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--strict-config")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown ini option wsmock_timout (did you mean 'wsmock_timeout'?)*"]
    )
