"""The limits from the outside, with pytester: the deadline fails a stuck test without hanging
the run; ini keys set the defaults and the marker and the factory override them; no limit
fails strict mode on its own."""

from __future__ import annotations

import pytest

from tests.plugin._support import write_ini


def test_deadline_fails_a_stuck_test_and_the_run_goes_on(pytester: pytest.Pytester) -> None:
    """A client that never finishes: deadline=0.5 closes everything, the test fails with the
    deadline message, the next test runs, and the whole run takes seconds, not 30."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest
        import websockets.sync.client
        from websockets.exceptions import ConnectionClosed


        @pytest.mark.wsmock(deadline=0.5)
        def test_stuck(ws_server):
            with websockets.sync.client.connect(
                ws_server.url, open_timeout=5, close_timeout=1, proxy=None
            ) as ws:
                try:
                    ws.recv(timeout=30)  # the server never sends: only the deadline ends it
                except ConnectionClosed:
                    pass


        def test_next(ws_server):
            assert ws_server.options.deadline == 120.0
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_stuck _*",
            "*the mock server's deadline of 0.5 s (option deadline) passed; it closed its "
            "listener and 1 open connection(s)*",
        ]
    )


def test_ini_defaults_and_overrides(pytester: pytest.Pytester) -> None:
    """wsmock_* ini keys set every limit; the marker overrides them, the factory the marker."""
    write_ini(
        pytester,
        "wsmock_max_message_size = 2048",
        "wsmock_max_header_size = 4096",
        "wsmock_max_connections = 3",
        "wsmock_idle_timeout = 7.5",
        "wsmock_deadline = 60",
    )
    pytester.makepyfile(
        """
        import pytest


        def test_ini(ws_server):
            o = ws_server.options
            assert (o.max_message_size, o.max_header_size, o.max_connections) == (2048, 4096, 3)
            assert (o.idle_timeout, o.deadline) == (7.5, 60.0)


        @pytest.mark.wsmock(max_message_size=100, idle_timeout=None, deadline=None)
        def test_marker(ws_server):
            o = ws_server.options
            assert (o.max_message_size, o.idle_timeout, o.deadline) == (100, None, None)
            assert o.max_connections == 3


        @pytest.mark.wsmock(max_connections=1)
        def test_factory_over_marker(ws_server_factory):
            server = ws_server_factory(max_connections=5, max_header_size=512)
            assert (server.options.max_connections, server.options.max_header_size) == (5, 512)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_ini_off_values(pytester: pytest.Pytester) -> None:
    """'none' turns idle_timeout, max_connections and deadline off from the ini file."""
    write_ini(
        pytester,
        "wsmock_max_connections = none",
        "wsmock_idle_timeout = none",
        "wsmock_deadline = 0",
    )
    pytester.makepyfile(
        """
        def test_off(ws_server):
            o = ws_server.options
            assert (o.max_connections, o.idle_timeout, o.deadline) == (None, None, None)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_no_limit_fails_strict_mode(pytester: pytest.Pytester) -> None:
    """In strict mode, hitting each limit (1009, 431, 503, idle 1001) still passes the test."""
    write_ini(pytester, "wsmock_strict = true")
    pytester.makepyfile(
        """
        import contextlib

        import pytest
        import websockets.sync.client
        from websockets.exceptions import ConnectionClosed, InvalidStatus


        def connect(server, **options):
            return websockets.sync.client.connect(
                server.url, open_timeout=5, close_timeout=2, proxy=None, **options
            )


        @pytest.mark.wsmock(max_message_size=10)
        def test_message_too_big(ws_server):
            with connect(ws_server, compression=None) as ws:
                ws.send("x" * 11)
                with pytest.raises(ConnectionClosed):
                    ws.recv(timeout=5)
            conn = ws_server.wait_for_connection()
            conn.wait_closed()
            assert [v.kind for v in conn.violations] == ["frame-too-large"]


        @pytest.mark.wsmock(max_header_size=512)
        def test_header_too_large(ws_server):
            with pytest.raises(InvalidStatus):
                with connect(ws_server, additional_headers={"X-Big": "b" * 1024}):
                    pass
            assert [v.kind for v in ws_server.wait_for_connection().violations] == [
                "headers-too-large"
            ]


        @pytest.mark.wsmock(max_connections=1)
        def test_too_many_connections(ws_server):
            with connect(ws_server):
                with pytest.raises(InvalidStatus):
                    with connect(ws_server):
                        pass


        @pytest.mark.wsmock(idle_timeout=0.2)
        def test_idle(ws_server):
            with connect(ws_server) as ws:
                with pytest.raises(ConnectionClosed):
                    ws.recv(timeout=5)
            assert ws_server.wait_for_connection().wait_closed().server_code == 1001
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
