"""Support for the end-to-end record and replay tests: the inner test file's common head
(clients that log what they received), real upstream handlers, and small helpers.

The inner tests run in this process (``pytester.runpytest``); they learn the upstream's URL,
its CA file and the log file from environment variables the outer test sets.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.server import ServerConnection

from ..plugin._support import write_ini
from ..proxy.conftest import RealServer

#: The head of every inner test file: the upstream from the environment, and three clients
#: (websockets, aiohttp, websocket-client) that read the greeting, then send each message and
#: read one answer, and log what they received as ``[label, [repr, ...]]`` lines.
HEAD = '''
import asyncio
import json
import os
import ssl
from pathlib import Path

import aiohttp
import pytest
import websocket
import websockets.sync.client
from websockets.exceptions import InvalidStatus

from pytest_wsmock import MatchRules, Secrets

UPSTREAM = os.environ["E2E_UPSTREAM"]
LOG = Path(os.environ["E2E_LOG"])
#: How long a client waits for each answer (shorter when the outer test expects a failure).
TIMEOUT = float(os.environ.get("E2E_TIMEOUT", "5"))


def upstream_ssl():
    """The client context that trusts the upstream's own CA (TLS runs only)."""
    return ssl.create_default_context(cafile=os.environ["E2E_CA"])


def log(label, got):
    with LOG.open("a", encoding="utf-8") as file:
        file.write(json.dumps([label, [repr(item) for item in got]]) + "\\n")


def via_websockets(url, sends, headers=None):
    got = []
    with websockets.sync.client.connect(
        url, open_timeout=TIMEOUT, close_timeout=5, ping_interval=None, proxy=None,
        additional_headers=headers,
    ) as ws:
        got.append(ws.recv(timeout=TIMEOUT))
        for message in sends:
            ws.send(message)
            got.append(ws.recv(timeout=TIMEOUT))
    return got


def via_aiohttp(url, sends):
    async def talk():
        got = []
        timeout = aiohttp.ClientWSTimeout(ws_receive=TIMEOUT, ws_close=5)
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url, timeout=timeout, autoping=False) as ws:
                got.append((await ws.receive(timeout=TIMEOUT)).data)
                for message in sends:
                    if isinstance(message, bytes):
                        await ws.send_bytes(message)
                    else:
                        await ws.send_str(message)
                    got.append((await ws.receive(timeout=TIMEOUT)).data)
        return got

    return asyncio.run(talk())


def via_websocket_client(url, sends):
    ws = websocket.create_connection(url, timeout=TIMEOUT)
    try:
        got = [ws.recv()]
        for message in sends:
            if isinstance(message, bytes):
                ws.send_binary(message)
            else:
                ws.send(message)
            got.append(ws.recv())
    finally:
        ws.close()
    return got
'''


def greet_and_echo(ws: ServerConnection) -> None:
    """The real service: ``welcome``, then ``echo: <message>`` for each text message, and
    each binary message back reversed."""
    ws.send("welcome")
    for message in ws:
        ws.send(f"echo: {message}" if isinstance(message, str) else message[::-1])


def greet_slowly(ws: ServerConnection) -> None:
    """``welcome``, then for each message ``first``, a pause of :data:`GAP`, ``second``."""
    ws.send("welcome")
    for _message in ws:
        ws.send("first")
        time.sleep(GAP)
        ws.send("second")


#: The pause of :func:`greet_slowly`.
GAP = 0.3


def setup(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    upstream: RealServer | str,
    body: str,
) -> Path:
    """Write the inner ini file and ``test_inner.py`` (``HEAD`` + ``body``), point the
    environment at ``upstream``; returns the log file."""
    write_ini(pytester)
    pytester.makepyfile(test_inner=HEAD + body)
    log = pytester.path / "received.log"
    monkeypatch.setenv("E2E_LOG", str(log))
    if isinstance(upstream, str):
        monkeypatch.setenv("E2E_UPSTREAM", upstream)
    else:
        monkeypatch.setenv("E2E_UPSTREAM", upstream.url)
        if upstream.ca is not None:
            ca_file = pytester.path / "upstream-ca.pem"
            upstream.ca.cert_pem.write_to_path(str(ca_file))
            monkeypatch.setenv("E2E_CA", str(ca_file))
    return log


def rewrite(pytester: pytest.Pytester, body: str) -> None:
    """Replace the inner test file's body (the client changed)."""
    pytester.makepyfile(test_inner=HEAD + body)


def logged(log: Path) -> list[list[Any]]:
    """The log's lines, and empty the log for the next run."""
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    log.unlink()
    return lines


def stop(upstream: RealServer) -> None:
    """Stop the upstream; its port then refuses connections (checked)."""
    port = upstream.port
    upstream.server.shutdown()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def cassette_file(pytester: pytest.Pytester, name: str, module: str = "test_inner") -> Path:
    """Where the inner test's cassette ``name`` is written."""
    return pytester.path / "cassettes" / module / f"{name}.json"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
