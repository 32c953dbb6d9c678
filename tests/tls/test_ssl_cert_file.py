"""``SSL_CERT_FILE=<ca_path>``: clients that build their context with the ``ssl`` module's
defaults trust the session CA with no code change. Each client runs in a subprocess with default
SSL settings, once with the variable (it connects) and once without (it refuses)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pytest_wsmock import MockServer, echo

#: Programs that connect to argv[1] with the client's default TLS settings, send "env" and
#: print the echo.
PROGRAMS = {
    "websockets-sync": """
import sys
import websockets.sync.client
with websockets.sync.client.connect(sys.argv[1], open_timeout=5, proxy=None) as ws:
    ws.send("env")
    print(ws.recv(timeout=5))
""",
    "aiohttp": """
import asyncio, sys
import aiohttp
async def main():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        async with session.ws_connect(sys.argv[1]) as ws:
            await ws.send_str("env")
            print((await ws.receive(timeout=5)).data)
asyncio.run(main())
""",
    "websocket-client": """
import sys
import websocket
ws = websocket.create_connection(sys.argv[1], timeout=5)
ws.send("env")
print(ws.recv())
ws.close(timeout=5)
""",
}


def _run(program: str, url: str, ssl_cert_file: str | None) -> subprocess.CompletedProcess[str]:
    # Start from a clean slate: no SSL_* or WEBSOCKET_CLIENT_CA_BUNDLE from the caller.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SSL_") and k != "WEBSOCKET_CLIENT_CA_BUNDLE"
    }
    if ssl_cert_file is not None:
        env["SSL_CERT_FILE"] = ssl_cert_file
    return subprocess.run(
        [sys.executable, "-c", program, url],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("client", list(PROGRAMS))
def test_ssl_cert_file_makes_default_clients_trust_the_ca(
    wss_server: MockServer, client: str
) -> None:
    """With SSL_CERT_FILE=ca_path the client's default settings trust the CA; without, not."""
    wss_server.handler(echo)
    trusted = _run(PROGRAMS[client], wss_server.url, str(wss_server.ca_path))
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stdout.strip() == "env"
    untrusted = _run(PROGRAMS[client], wss_server.url, None)
    assert untrusted.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, untrusted.stderr
    first, second = wss_server.connections
    assert first.tls_error is None
    assert first.received_texts == ["env"]
    assert second.tls_error is not None
