"""The fixtures under pytest-xdist: every worker runs its own servers."""

from __future__ import annotations

import pytest

from ._support import write_ini


@pytest.mark.slow  # starts xdist workers (about 5 s)
def test_runs_under_xdist(pytester: pytest.Pytester) -> None:
    """An inner suite using ws_server, wss_server and the marker passes with -n 2."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import os

        import pytest
        import websockets.sync.client

        from pytest_wsmock import echo


        @pytest.mark.wsmock(subprotocols=["x"])
        @pytest.mark.parametrize("n", range(6))
        def test_echo(ws_server, n):
            assert os.environ["PYTEST_XDIST_WORKER"] in ("gw0", "gw1")
            ws_server.handler(echo)
            with websockets.sync.client.connect(ws_server.url, subprotocols=["x"]) as ws:
                ws.send(str(n))
                assert ws.recv() == str(n)
            assert ws_server.wait_for_connection().subprotocol == "x"


        @pytest.mark.parametrize("n", range(2))
        def test_tls(wss_server, n):
            with websockets.sync.client.connect(
                wss_server.url, ssl=wss_server.client_ssl_context()
            ) as ws:
                ws.send("tls")
            assert wss_server.wait_for_connection().received_texts == ["tls"]
        """
    )
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*2 workers*"])
