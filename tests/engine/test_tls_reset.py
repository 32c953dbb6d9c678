"""A wss client that resets TCP during the TLS handshake: the record says the client reset it."""

from __future__ import annotations

import socket
import ssl
import struct
import time

import pytest

from pytest_wsmock import Direction, ServerFactory

WAIT = 10.0


def client_hello() -> bytes:
    """The first bytes a TLS client writes: a real ClientHello, made with a memory BIO."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


@pytest.mark.parametrize("sent", ["nothing", "partial-hello", "whole-hello"])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_reset_during_tls_handshake_is_recorded_as_client_rst(
    ws_server_factory: ServerFactory, sent: str, backend: str
) -> None:
    """conn.tls_error is set and conn.close says the client ended TCP with RST."""
    server = ws_server_factory(tls=True, backend=backend)
    hello = client_hello()
    data = {"nothing": b"", "partial-hello": hello[:10], "whole-hello": hello}[sent]
    sock = socket.create_connection((server.host, server.port), timeout=WAIT)
    try:
        # The server has accepted TCP (its TLS handshake is reading) before the client resets.
        # A connection is listed only once it ends before a request (or its request says it
        # is a WebSocket one), so the test looks at the server's accepted-but-unlisted ones.
        deadline = time.monotonic() + WAIT
        while not server._unlisted:
            assert time.monotonic() < deadline, "the server did not accept the connection"
            time.sleep(0.01)
        if data:
            sock.sendall(data)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()
    conn = server.wait_for_connection(0, timeout=WAIT)
    info = conn.wait_closed(timeout=WAIT)
    assert conn.tls_error is not None
    assert not conn.accepted
    assert info.tcp_closed_by is Direction.CLIENT, (info, conn.tls_error, conn.notes)
    assert info.tcp_end == "rst", (info, conn.tls_error, conn.notes)
