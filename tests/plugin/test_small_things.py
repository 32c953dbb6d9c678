"""Small things that cost users time: a missing trio, misspelt option names, withdrawing a
script, what ``connections`` holds."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import websockets.sync.client

from pytest_wsmock import ConfigError, Handshake, MockServer, ServerOptions, expect_text, send_text

from ._support import write_ini

ROOT = Path(__file__).resolve().parents[2]

TWO_TESTS = """
def test_one(ws_server):
    assert ws_server.url

def test_two(ws_server):
    assert ws_server.url
"""

#: A conftest of the inner run that makes ``import trio`` fail, as when it is not installed.
NO_TRIO = """
import sys

sys.modules["trio"] = None
"""


@pytest.mark.parametrize(
    ("args", "ini"),
    [
        pytest.param(("--wsmock-backend", "trio"), (), id="option"),
        pytest.param((), ("wsmock_backend = trio",), id="ini"),
    ],
)
def test_trio_backend_without_trio_is_one_usage_error(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    ini: tuple[str, ...],
) -> None:
    """Asked for the trio backend without trio: the run stops at start-up with one error
    naming the package, instead of erroring every test."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    write_ini(pytester, *ini)
    pytester.makeconftest(NO_TRIO)
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: the wsmock backend trio (option --wsmock-backend or ini wsmock_backend) "
            "needs the trio package, which is not installed: pip install trio*"
        ]
    )
    assert result.stderr.str().count("needs the trio package") == 1
    result.stdout.no_fnmatch_line("*test_one*")


def test_trio_backend_with_trio_starts(pytester: pytest.Pytester) -> None:
    """The same run with trio importable: both tests pass on the trio backend."""
    write_ini(pytester, "wsmock_backend = trio")
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


def test_an_unknown_option_suggests_the_closest_name() -> None:
    with pytest.raises(ConfigError) as excinfo:
        ServerOptions().replace(timout=1)
    assert "unknown wsmock option timout (did you mean 'timeout'?); valid options are: " in str(
        excinfo.value
    )


def test_an_unknown_option_without_a_near_name_lists_them_all() -> None:
    with pytest.raises(ConfigError) as excinfo:
        ServerOptions().replace(colour="blue")
    text = str(excinfo.value)
    assert "unknown wsmock option colour; valid options are: host, port" in text
    assert "did you mean" not in text


def test_an_unknown_marker_option_suggests_the_closest_name(pytester: pytest.Pytester) -> None:
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.wsmock(close_timout=1)
        def test_marker(ws_server):
            pass

        def test_factory(ws_server_factory):
            ws_server_factory(subprotocol=["chat"])
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            # pytest reports errors before failures.
            "*unknown wsmock option close_timout (did you mean 'close_timeout'?)*",
            "*unknown wsmock option subprotocol (did you mean 'subprotocols'?)*",
        ]
    )


def test_an_unknown_wsmock_ini_key_suggests_the_closest_name(pytester: pytest.Pytester) -> None:
    """``wsmock_tiemout`` would be ignored (pytest only warns): it stops the run, named."""
    pytester.makeini("[pytest]\nwsmock_tiemout = 3\n")
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown ini option wsmock_tiemout (did you mean 'wsmock_timeout'?)*"]
    )


def test_script_without_steps_withdraws_the_script(ws_server: MockServer) -> None:
    """A script withdrawn before any client came owes nothing (it would fail the test: "a
    script was set but no client connected"), and the next connection runs no script."""
    ws_server.script(send_text("hi"), expect_text("never sent"))
    ws_server.script(send_text("only for #1"), connection=1)
    ws_server.script()
    ws_server.script(connection=1)
    with websockets.sync.client.connect(ws_server.url, open_timeout=5) as ws:
        ws.send("hello")
    conn = ws_server.wait_for_connection(0)
    conn.wait_closed()
    assert conn.script is None
    assert conn.sent == []
    assert conn.received_texts == ["hello"]


def test_script_without_steps_leaves_other_connections_scripts(ws_server: MockServer) -> None:
    """``script(connection=0)`` withdraws #0's own script only: the server-wide one stays."""
    ws_server.script(send_text("everyone"))
    ws_server.script(send_text("zero"), connection=0)
    ws_server.script(connection=0)
    with websockets.sync.client.connect(ws_server.url, open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "everyone"
    ws_server.wait_for_connection(0).wait_closed()


def test_connections_holds_every_tcp_connection_in_order_of_arrival() -> None:
    """Rejected handshakes and connections that never sent a request are connections too."""
    options = ServerOptions(handshake=(Handshake.reject(403), Handshake.accept()))
    with MockServer(options) as server:
        with pytest.raises(websockets.InvalidStatus):
            websockets.sync.client.connect(server.url, open_timeout=5)
        with websockets.sync.client.connect(server.url, open_timeout=5):
            pass
        raw = socket.create_connection((server.host, server.port))
        raw.close()
        server.wait_for_connection(2).wait_closed()
        connections = server.connections
    assert [c.index for c in connections] == [0, 1, 2]
    assert [c.accepted for c in connections] == [False, True, False]
    assert connections[0].response is not None
    assert connections[0].response.status == 403
    assert connections[2].request is None
