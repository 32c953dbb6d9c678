"""Helpers shared by the pytester tests: the inner ini file and a raw WebSocket client."""

from __future__ import annotations

import pytest

#: ini lines every inner run gets. Plugins that the inner tests do not need are left out:
#: hypothesis's and pytest-benchmark's would add seconds of imports to every in-process run.
BASE_INI = """\
[pytest]
addopts = -p no:hypothesispytest -p no:benchmark
filterwarnings =
    error
asyncio_default_fixture_loop_scope = function
"""


def write_ini(pytester: pytest.Pytester, *extra: str) -> None:
    """Write the inner run's ``tox.ini`` ([pytest] section) with ``extra`` lines appended."""
    pytester.makeini(BASE_INI + "".join(f"{line}\n" for line in extra))


#: Inner-test helper: open a TCP connection and do a correct opening handshake by hand, so the
#: test can then put any bytes on the wire (real clients refuse to send broken frames).
RAW_CLIENT = """
import base64
import os
import socket


def raw_handshake(host, port, path="/"):
    sock = socket.create_connection((host, port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\\r\\nHost: {host}:{port}\\r\\nUpgrade: websocket\\r\\n"
            f"Connection: Upgrade\\r\\nSec-WebSocket-Key: {key}\\r\\n"
            "Sec-WebSocket-Version: 13\\r\\n\\r\\n"
        ).encode()
    )
    head = b""
    while b"\\r\\n\\r\\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, f"the server closed before answering the handshake: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


def read_close_frame(sock):
    data = b""
    while len(data) < 4:
        chunk = sock.recv(4096)
        assert chunk, f"EOF before a close frame: {data!r}"
        data += chunk
    assert data[0] == 0x88, f"expected an unmasked FIN close frame, got {data!r}"
    return int.from_bytes(data[2:4], "big")


def send_close(sock, code=1000):
    # FIN + close, MASK bit set, 2-byte payload; a zero mask key leaves the payload as is.
    sock.sendall(b"\\x88\\x82\\x00\\x00\\x00\\x00" + code.to_bytes(2, "big"))
"""


#: A fixture for inner tests whose raw client must stay connected through the server's
#: teardown: set up before ``ws_server`` (name it first), so torn down after it.
HELD_SOCKETS = """

@pytest.fixture
def sockets():
    # Set up before ws_server, so torn down after it: the client is still connected when
    # the server's teardown judges the script.
    held = []
    yield held
    for sock in held:
        sock.close()

"""
