"""How a relayed connection ends: each side's ending passed on to the other as it was, and
nothing left open or waiting when a rule fails, the client goes away or the server stops.

The upstream here is a second mock server (``ws_server_factory``): it can end in every way a
real service does, and its own strict checks judge the proxy's client leg."""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

import pytest
import websocket
import websockets.exceptions
import websockets.sync.client

from pytest_wsmock import (
    Fault,
    Handshake,
    MockServer,
    close,
    expect_close,
    expect_text,
    send_text,
)
from pytest_wsmock._factory import ServerFactory


def _connect(url: str, **kwargs: Any) -> websockets.sync.client.ClientConnection:
    connection: websockets.sync.client.ClientConnection = websockets.sync.client.connect(
        url, open_timeout=5, close_timeout=2, proxy=None, **kwargs
    )
    return connection


def test_the_clients_close_reaches_the_upstream_with_its_code_and_reason(
    ws_server_factory: ServerFactory,
) -> None:
    upstream, proxy = ws_server_factory(), ws_server_factory()
    upstream.script(expect_text("hi"), send_text("ho"))
    proxy.proxy_to(upstream.url)
    with _connect(proxy.url) as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "ho"
        ws.close(4001, "done here")
    far = upstream.wait_for_connection().wait_closed()
    assert (far.client_code, far.client_reason) == (4001, "done here")
    leg = proxy.wait_for_connection()
    leg.wait_closed()
    assert leg.upstream is not None
    assert leg.upstream.close is not None
    assert (leg.upstream.close.client_code, leg.upstream.close.client_reason) == (4001, "done here")


def test_an_upstream_close_frame_without_a_code_is_passed_on_as_one(
    ws_server_factory: ServerFactory,
) -> None:
    upstream, proxy = ws_server_factory(), ws_server_factory()
    upstream.script(expect_text("hi"), close(None))
    proxy.proxy_to(upstream.url)
    with _connect(proxy.url) as ws:
        ws.send("hi")
        with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
            ws.recv(timeout=5)
    # A close frame without a code (1005 on the client's side), not an abnormal end (1006).
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1005
    conn = proxy.wait_for_connection()
    info_close = conn.wait_closed()
    assert info_close.server_sent
    assert info_close.server_code is None
    assert info_close.tcp_end == "fin"


def test_an_upstream_that_ends_tcp_without_a_close_frame_ends_the_clients_leg_so(
    ws_server_factory: ServerFactory,
) -> None:
    upstream, proxy = ws_server_factory(), ws_server_factory()
    upstream.script(expect_text("hi"), send_text("bye"), Fault.drop())
    proxy.proxy_to(upstream.url)
    with _connect(proxy.url) as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "bye"
        with pytest.raises(websockets.exceptions.ConnectionClosedError) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is None  # no close frame: 1006 on the client's side
    conn = proxy.wait_for_connection()
    info_close = conn.wait_closed()
    assert not info_close.server_sent
    assert conn.upstream is not None
    assert conn.upstream.close is not None
    assert not conn.upstream.close.server_sent
    assert any("without a close frame" in note for note in conn.upstream.notes)


def test_a_client_that_drops_is_passed_on_as_a_tcp_end_without_a_close_frame(
    ws_server_factory: ServerFactory,
) -> None:
    upstream = ws_server_factory(strict=False)  # the proxy's drop is on purpose
    proxy = ws_server_factory(strict=False)  # so is the client's
    upstream.script(expect_text("hi"), send_text("ho"))
    proxy.proxy_to(upstream.url)
    raw = websocket.create_connection(proxy.url, timeout=5)
    raw.send("hi")
    assert raw.recv() == "ho"
    assert raw.sock is not None
    raw.sock.close()  # no close frame
    far = upstream.wait_for_connection()
    far_close = far.wait_closed()
    assert not far_close.client_sent  # the upstream saw no close frame either
    conn = proxy.wait_for_connection()
    conn.wait_closed()
    assert conn.upstream is not None
    assert conn.upstream.close is not None
    assert not conn.upstream.close.client_sent


def test_a_client_gone_before_the_upstream_answers_leaves_no_upstream_leg_open(
    ws_server_factory: ServerFactory,
) -> None:
    upstream = ws_server_factory(strict=False)
    proxy = ws_server_factory(strict=False)
    upstream.handshake(Handshake.accept().delayed(1.0))
    proxy.proxy_to(upstream.url)
    with socket.create_connection((proxy.host, proxy.port), timeout=5) as sock:
        sock.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        far = upstream.wait_for_connection()  # the proxy is opening its upstream leg
        # Reset, so that the proxy's 101 cannot be written: the connection never opens.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn = proxy.wait_for_connection()
    conn.wait_closed()  # covers the upstream leg: it must end without the server stopping
    assert conn.upstream is not None
    assert conn.upstream.closed
    far.wait_closed()


def test_a_step_after_the_connection_ended_is_skipped_not_an_error(
    ws_server_factory: ServerFactory,
) -> None:
    upstream = ws_server_factory(strict=False)
    proxy = ws_server_factory(strict=False)
    upstream.script(send_text("one"))
    proxy.proxy_to(upstream.url).after_upstream(1, Fault.drop(), send_text("too late"))
    with _connect(proxy.url) as ws:
        assert ws.recv(timeout=5) == "one"
        with pytest.raises(websockets.exceptions.ConnectionClosedError):
            ws.recv(timeout=5)
    conn = proxy.wait_for_connection()
    conn.wait_closed()
    assert proxy.errors == []
    assert any("too late" in note and "skipped" in note for note in conn.notes)


def test_a_rewrite_that_raises_fails_the_test_and_closes_both_legs_with_1011(
    ws_server_factory: ServerFactory,
) -> None:
    upstream = ws_server_factory(strict=False)
    upstream.script(expect_text("hi"), send_text("ho"), expect_close(1011))
    proxy = MockServer().start()  # not the fixture's: its failure is this test's subject
    try:

        def broken(message: str | bytes) -> str | bytes:
            raise ValueError("the rewrite broke")

        proxy.proxy_to(upstream.url).rewrite(broken, direction="to_client")
        with _connect(proxy.url) as ws:
            ws.send("hi")
            with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
                ws.recv(timeout=5)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1011
        far = upstream.wait_for_connection().wait_closed()
        assert far.client_code == 1011
    finally:
        proxy.stop()
    # The user's own exception, not a task group's wrapper around it.
    assert [type(exc) for _, exc in proxy.errors] == [ValueError]
    conn = proxy.connections[0]
    assert conn.upstream is not None
    assert conn.upstream.closed


def test_the_server_stopping_closes_the_upstream_leg_with_1001(
    ws_server_factory: ServerFactory,
) -> None:
    upstream = ws_server_factory()
    upstream.script(expect_text("hi"), send_text("ho"), expect_close(1001))
    proxy = MockServer().start()
    with _connect_after(proxy, upstream.url) as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "ho"
        proxy.stop()  # while the relayed connection is open: it returns, nothing hangs
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            ws.recv(timeout=5)
    far = upstream.wait_for_connection().wait_closed()
    assert (far.client_code, far.client_reason) == (1001, "wsmock proxy: the server stopped")
    conn = proxy.connections[0]
    assert conn.upstream is not None
    assert conn.upstream.closed


def _connect_after(proxy: MockServer, url: str) -> websockets.sync.client.ClientConnection:
    proxy.proxy_to(url)
    return _connect(proxy.url)


def test_the_server_stopping_while_the_upstream_has_not_answered(
    ws_server_factory: ServerFactory,
) -> None:
    upstream = ws_server_factory(strict=False)
    upstream.handshake(Handshake.never_respond())
    proxy = MockServer().start()
    # Far longer than the stop's own bound: the stop must cancel the connect, not wait it out.
    proxy.proxy_to(upstream.url, timeout=60)
    done = threading.Event()
    failures: list[BaseException] = []

    def client() -> None:
        try:
            with _connect(proxy.url):
                pass
        except Exception as exc:  # the proxy stopped before answering
            failures.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    far = upstream.wait_for_connection()  # the proxy's upstream request arrived
    proxy.stop()
    assert done.wait(10)
    thread.join(10)
    assert failures  # the client never got a 101
    far.wait_closed()  # the proxy's half-open upstream leg is closed, not leaked
    assert proxy.errors == []
