"""A relayed connection's transcript shows its upstream leg, indented under it: what the
proxy asked the upstream, what it answered, every frame both ways, the close and the notes."""

from __future__ import annotations

import pytest

from ..plugin._support import write_ini

FAILING = """
import websockets.sync.client

from pytest_wsmock import expect_text, send_text


def test_relayed(ws_server_factory):
    upstream = ws_server_factory()
    upstream.script(expect_text("hello upstream"), send_text("hello from upstream"))
    proxy = ws_server_factory()
    proxy.proxy_to(upstream.url + "/api")
    with websockets.sync.client.connect(
        proxy.url + "/feed?x=1", open_timeout=5, close_timeout=2, proxy=None
    ) as ws:
        ws.send("hello upstream")
        assert ws.recv(timeout=5) == "hello from upstream"
    proxy.wait_for_connection().wait_closed()
    assert False, "the test fails on purpose"
"""

REFUSED = """
import pytest
import websockets.exceptions
import websockets.sync.client

from pytest_wsmock import Handshake


def test_refused(ws_server_factory):
    upstream = ws_server_factory()
    upstream.handshake(Handshake.reject(403, body="no entry"))
    proxy = ws_server_factory()
    proxy.proxy_to(upstream.url)
    with pytest.raises(websockets.exceptions.InvalidStatus):
        websockets.sync.client.connect(proxy.url, open_timeout=5, proxy=None)
    proxy.wait_for_connection().wait_closed()
    assert False, "the test fails on purpose"
"""


def test_the_transcript_shows_the_upstream_leg_under_the_connection(
    pytester: pytest.Pytester,
) -> None:
    write_ini(pytester)
    pytester.makepyfile(FAILING)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "wsmock transcript" in out
    lines = out.splitlines()
    # The proxy's connection, then its upstream leg indented under it.
    head = next(i for i, line in enumerate(lines) if line.startswith("connection #0 (GET /feed"))
    leg = next(i for i, line in enumerate(lines) if "upstream leg to 127.0.0.1:" in line)
    assert leg > head
    assert lines[leg].startswith("  upstream leg to 127.0.0.1:")
    assert lines[leg].endswith("(GET /api/feed?x=1)")
    below = lines[leg + 1 :]
    assert any(line.startswith("    > GET /api/feed?x=1 HTTP/1.1") for line in below)
    assert any(line.startswith("    < HTTP/1.1 101 Switching Protocols") for line in below)
    sent = [line for line in below if "proxy -> upstream" in line and "TEXT" in line]
    got = [line for line in below if "upstream -> proxy" in line and "TEXT" in line]
    assert sent
    assert sent[0].startswith("    +")
    assert "'hello upstream'" in sent[0]
    assert got
    assert "'hello from upstream'" in got[0]
    assert "inflated alone" not in got[0]  # the frame is paired with its message
    assert any(line.startswith("    close: client closed first") for line in below)
    # The client's own leg keeps its arrows.
    assert any("client -> server" in line and "'hello upstream'" in line for line in lines)


def test_the_transcript_shows_a_refusing_upstreams_answer(pytester: pytest.Pytester) -> None:
    write_ini(pytester)
    pytester.makepyfile(REFUSED)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    lines = result.stdout.str().splitlines()
    leg = next(i for i, line in enumerate(lines) if "upstream leg to 127.0.0.1:" in line)
    below = lines[leg + 1 :]
    assert any(line.startswith("    < HTTP/1.1 403 Forbidden") for line in below)
    assert any(line.startswith("    <   (body)") and "no entry" in line for line in below)
