"""The ``wsmock`` marker: options, validation, class and module markers, parametrize."""

from __future__ import annotations

import pytest

from ._support import write_ini


def test_marker_sets_subprotocols_deflate_and_timeout(pytester: pytest.Pytester) -> None:
    """subprotocols, deflate=False and timeout given to the marker reach ws_server."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import time

        import pytest
        import websockets.sync.client

        from pytest_wsmock import WaitTimeout


        @pytest.mark.wsmock(subprotocols=["chat.v2", "chat.v1"])
        def test_subprotocols(ws_server):
            assert ws_server.options.subprotocols == ("chat.v2", "chat.v1")
            offer = ["chat.v1", "chat.v2"]
            with websockets.sync.client.connect(ws_server.url, subprotocols=offer) as ws:
                assert ws.subprotocol == "chat.v1"
            conn = ws_server.wait_for_connection()
            assert conn.request.subprotocols == ("chat.v1", "chat.v2")
            assert conn.subprotocol == "chat.v1"


        def test_deflate_by_default(ws_server):
            with websockets.sync.client.connect(ws_server.url) as ws:
                ws.send("squeeze me " * 20)
            conn = ws_server.wait_for_connection()
            conn.wait_closed()
            assert conn.extensions.startswith("permessage-deflate")
            assert conn.received[0].compressed


        @pytest.mark.wsmock(deflate=False)
        def test_no_deflate(ws_server):
            with websockets.sync.client.connect(ws_server.url) as ws:
                ws.send("squeeze me " * 20)
            conn = ws_server.wait_for_connection()
            conn.wait_closed()
            assert [offer.name for offer in conn.request.extensions] == ["permessage-deflate"]
            assert conn.extensions is None
            assert not conn.received[0].compressed


        @pytest.mark.wsmock(timeout=0.2)
        def test_timeout(ws_server):
            assert ws_server.options.timeout == 0.2
            start = time.monotonic()
            with pytest.raises(WaitTimeout, match="after 0.2 s"):
                ws_server.wait_for_connection()
            assert time.monotonic() - start < 2
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=4)


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    """The marker is registered, so --strict-markers accepts it and --markers lists it."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.wsmock(strict=False)
        def test_marked(ws_server):
            assert ws_server.options.strict is False
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=1)
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.wsmock(**options):*ServerOptions*"])


def test_unknown_marker_option_is_a_config_error(pytester: pytest.Pytester) -> None:
    """An unknown marker option fails the test's setup with a ConfigError that names it."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.wsmock(colour="blue")
        def test_typo(ws_server):
            pass


        @pytest.mark.wsmock(timeout="soon")
        def test_bad_value(ws_server):
            pass


        @pytest.mark.wsmock(0.5)
        def test_positional(ws_server):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ConfigError: unknown wsmock option colour; valid options are: host, port,*",
            "*ConfigError: wsmock option timeout must be a positive number, got 'soon'*",
            "*ConfigError: the wsmock marker takes keyword arguments only*",
        ]
    )


def test_closest_marker_wins(pytester: pytest.Pytester) -> None:
    """Function markers beat class markers, which beat the module's pytestmark, key by key."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.wsmock(timeout=1.5, subprotocols=["module"])


        def test_module_level(ws_server):
            assert ws_server.options.timeout == 1.5
            assert ws_server.options.subprotocols == ("module",)


        @pytest.mark.wsmock(timeout=2.5)
        class TestClassLevel:
            def test_class_wins(self, ws_server):
                assert ws_server.options.timeout == 2.5
                assert ws_server.options.subprotocols == ("module",)

            @pytest.mark.wsmock(timeout=3.5, subprotocols=["function"])
            def test_function_wins(self, ws_server):
                assert ws_server.options.timeout == 3.5
                assert ws_server.options.subprotocols == ("function",)


        @pytest.mark.wsmock(deflate=False)
        def test_factory_kwargs_beat_markers(ws_server_factory):
            server = ws_server_factory(timeout=4.5)
            assert server.options.timeout == 4.5
            assert server.options.deflate is False
            assert server.options.subprotocols == ("module",)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)


def test_marker_on_parametrized_tests(pytester: pytest.Pytester) -> None:
    """A marker on a parametrized test, and per-case markers via pytest.param, both apply."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest
        import websockets.sync.client

        OFFER = ["v1", "v2"]


        @pytest.mark.wsmock(subprotocols=["v2"])
        @pytest.mark.parametrize("message", ["a", "b", "c"])
        def test_same_marker_each_case(ws_server, message):
            with websockets.sync.client.connect(ws_server.url, subprotocols=OFFER) as ws:
                assert ws.subprotocol == "v2"
                ws.send(message)
            conn = ws_server.wait_for_connection()
            conn.wait_closed()
            assert conn.received_texts == [message]


        @pytest.mark.parametrize(
            "expected",
            [
                pytest.param("v1", marks=pytest.mark.wsmock(subprotocols=["v1"]), id="v1"),
                pytest.param("v2", marks=pytest.mark.wsmock(subprotocols=["v2"]), id="v2"),
                pytest.param(None, id="none"),
            ],
        )
        def test_marker_per_case(ws_server, expected):
            with websockets.sync.client.connect(ws_server.url, subprotocols=OFFER) as ws:
                assert ws.subprotocol == expected
        """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*test_marker_per_case?v1? PASSED*"])
