"""The fixtures in plain sync tests: ws_server, wss_server, ws_server_factory, wsmock_ca."""

from __future__ import annotations

import pytest

from ._support import RAW_CLIENT, write_ini


def test_ws_server_in_a_sync_test(pytester: pytest.Pytester) -> None:
    """ws_server serves ws:// on 127.0.0.1 and records what a websockets sync client sent."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import websockets.sync.client

        from pytest_wsmock import MockServer, echo


        def test_echo(ws_server):
            assert isinstance(ws_server, MockServer)
            assert ws_server.url.startswith("ws://127.0.0.1:")
            ws_server.handler(echo)
            with websockets.sync.client.connect(ws_server.url_for("chat?room=1")) as ws:
                ws.send("hello")
                assert ws.recv() == "hello"
                ws.send(b"\\x00\\x01")
                assert ws.recv() == b"\\x00\\x01"
            conn = ws_server.wait_for_connection()
            info = conn.wait_closed()
            assert conn.request.path == "/chat"
            assert conn.request.query_params == {"room": ["1"]}
            assert conn.received_texts == ["hello"]
            assert conn.received_bytes == [b"\\x00\\x01"]
            assert info.code == 1000
            assert info.initiator == "client"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_each_test_gets_a_fresh_server(pytester: pytest.Pytester) -> None:
    """Every test gets its own ws_server with its own port and an empty record."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest
        import websockets.sync.client

        seen = []


        @pytest.mark.parametrize("n", [1, 2])
        def test_fresh(ws_server, n):
            assert ws_server.connections == []
            with websockets.sync.client.connect(ws_server.url):
                pass
            assert ws_server.wait_for_connection().index == 0
            seen.append(ws_server.port)


        def test_ports_differ():
            assert len(seen) == 2 and seen[0] != seen[1]
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_factory_makes_servers_with_different_options(pytester: pytest.Pytester) -> None:
    """ws_server_factory starts several servers, each with its own options."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import websockets.sync.client

        from pytest_wsmock import ServerFactory


        def test_two_servers(ws_server_factory):
            assert isinstance(ws_server_factory, ServerFactory)
            chat = ws_server_factory(subprotocols=["chat"], timeout=1.5)
            feed = ws_server_factory(subprotocols=["feed"], deflate=False)
            assert chat.port != feed.port
            assert ws_server_factory.servers == [chat, feed]
            offer = ["feed", "chat"]
            with websockets.sync.client.connect(chat.url, subprotocols=offer) as ws:
                assert ws.subprotocol == "chat"
            with websockets.sync.client.connect(feed.url, subprotocols=offer) as ws:
                assert ws.subprotocol == "feed"
            assert chat.options.timeout == 1.5
            assert feed.options.timeout == 5.0
            assert chat.wait_for_connection().extensions is not None
            assert feed.wait_for_connection().extensions is None
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_wss_server_with_client_context_and_ca_path(pytester: pytest.Pytester) -> None:
    """wss_server serves wss://; clients trust it via client_ssl_context() or ca_path."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import ssl

        import pytest
        import websockets.sync.client

        from pytest_wsmock import echo


        def test_client_ssl_context(wss_server):
            assert wss_server.url.startswith("wss://127.0.0.1:")
            wss_server.handler(echo)
            context = wss_server.client_ssl_context()
            assert isinstance(context, ssl.SSLContext)
            with websockets.sync.client.connect(wss_server.url, ssl=context) as ws:
                ws.send("secret")
                assert ws.recv() == "secret"
            assert wss_server.wait_for_connection().received_texts == ["secret"]


        def test_ca_path(wss_server):
            assert wss_server.ca_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
            context = ssl.create_default_context(cafile=str(wss_server.ca_path))
            with websockets.sync.client.connect(wss_server.url, ssl=context) as ws:
                ws.send("by file")
            conn = wss_server.wait_for_connection()
            conn.wait_closed()
            assert conn.received_texts == ["by file"]
            assert conn.tls_error is None


        def test_untrusted_client_fails(wss_server):
            with pytest.raises(ssl.SSLCertVerificationError):
                with websockets.sync.client.connect(
                    wss_server.url, ssl=ssl.create_default_context(), open_timeout=5
                ):
                    pass
            conn = wss_server.wait_for_connection()
            conn.wait_closed()
            assert conn.tls_error is not None
            assert conn.request is None


        def test_ws_server_has_no_tls_material(ws_server):
            from pytest_wsmock import ConfigError

            with pytest.raises(ConfigError, match="not a TLS server"):
                ws_server.client_ssl_context()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)


def test_wsmock_ca_is_one_trustme_ca_per_session(pytester: pytest.Pytester) -> None:
    """wsmock_ca is a trustme.CA, the same object in every test, and it signs wss_server."""
    write_ini(pytester)
    pytester.makepyfile(
        test_one="""
        import trustme

        CAS = []


        def test_first(wsmock_ca):
            assert isinstance(wsmock_ca, trustme.CA)
            CAS.append(wsmock_ca)


        def test_second(wsmock_ca, wss_server):
            CAS.append(wsmock_ca)
            assert CAS[0] is CAS[1]
            assert wss_server.ca_path.read_bytes() == wsmock_ca.cert_pem.bytes()
        """,
        test_two="""
        from test_one import CAS


        def test_other_module(wsmock_ca):
            assert CAS and wsmock_ca is CAS[0]
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_teardown_closes_the_listener_and_connections(pytester: pytest.Pytester) -> None:
    """After a test, its server's port refuses connections and open client sockets see EOF."""
    write_ini(pytester)
    pytester.makepyfile(
        RAW_CLIENT
        + """

import errno

STATE = {}


def test_leave_a_connection_open(ws_server):
    STATE["port"] = ws_server.port
    STATE["sock"] = raw_handshake("127.0.0.1", ws_server.port)
    assert ws_server.wait_for_connection().accepted


def test_after_teardown():
    sock = STATE["sock"]
    try:
        assert sock.recv(4096) == b""
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    probe = socket.socket()
    try:
        code = probe.connect_ex(("127.0.0.1", STATE["port"]))
    finally:
        probe.close()
    assert code == errno.ECONNREFUSED
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
