"""Each driver (Node's ws, Go's gorilla/websocket, Python's websockets) through ``DriverClient``
against the mock server: the driver protocol's every operation, over real sockets.

Node and Go need their tools (.ci/install-node, .ci/install-go) and skip without them.
"""

from __future__ import annotations

import contextlib

import pytest

from pytest_wsmock import (
    FRAME_VIOLATIONS,
    ConnectionClosed,
    Direction,
    Handshake,
    MockServer,
    WebSocket,
    echo,
)
from pytest_wsmock.conformance import DriverClient, DriverFailure
from pytest_wsmock.conformance._driver import DriverSession

from .conftest import driver_params

TIMEOUT = 5.0
SIZES = [0, 125, 65536, 2**20]
SIZE_IDS = ["0B", "125B", "64KiB", "1MiB"]

#: How each client answers a server's close 4001 "bye": (code, reason) of its close frame.
CLOSE_ANSWERS = {
    "node-ws": (4001, "bye"),
    "gorilla": (4001, ""),
    "python-websockets": (4001, "bye"),
}
#: The error type each client reports for a 403 instead of 101.
REJECTION_TYPES = {
    "node-ws": "Error",
    "gorilla": "websocket.ErrBadHandshake",
    "python-websockets": "InvalidStatus",
}


def _connect(driver: DriverClient, url: str) -> DriverSession:
    return driver.connect(url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT)


all_drivers = pytest.mark.parametrize("driver", driver_params(), indirect=True)


def _payload(kind: str, size: int) -> str | bytes:
    return (
        "é" * (size // 2)
        if kind == "text"
        else bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    )


@all_drivers
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("kind", ["text", "binary"])
def test_echo(ws_server: MockServer, driver: DriverClient, kind: str, size: int) -> None:
    """A text or binary message, up to 1 MiB, goes out and comes back unchanged."""
    ws_server.handler(echo)
    data = _payload(kind, size)
    session = _connect(driver, ws_server.url)
    assert session.subprotocol is None
    session.send(data)
    assert session.receive(TIMEOUT) == data
    session.close()
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.received_values == [data]


@all_drivers
@pytest.mark.wsmock(subprotocols=["chat"])
def test_subprotocol(ws_server: MockServer, driver: DriverClient) -> None:
    """The client offers superchat and chat and says the server selected chat."""
    ws_server.handler(echo)
    session = driver.connect(
        ws_server.url, ssl=None, ca_path=None, subprotocols=["superchat", "chat"], timeout=TIMEOUT
    )
    assert session.subprotocol == "chat"
    session.close()
    conn = ws_server.wait_for_connection()
    assert conn.request is not None
    assert conn.request.subprotocols == ("superchat", "chat")
    assert conn.subprotocol == "chat"


@all_drivers
def test_receive_timeout_keeps_the_connection(ws_server: MockServer, driver: DriverClient) -> None:
    """Nothing to receive is a TimeoutError; the connection stays open and usable."""
    ws_server.handler(echo)
    session = _connect(driver, ws_server.url)
    with pytest.raises(TimeoutError):
        session.receive(0.2)
    session.send("still there")
    assert session.receive(TIMEOUT) == "still there"
    session.close()


@all_drivers
def test_client_close(ws_server: MockServer, driver: DriverClient) -> None:
    """close(4000, "client done") is recorded; the client reports the server's echo."""
    ws_server.handler(echo)
    session = _connect(driver, ws_server.url)
    session.close(4000, "client done")
    assert session.close_info is not None
    assert session.close_info["code"] == 4000
    assert session.close_info["clean"] is True
    info = ws_server.wait_for_connection().wait_closed()
    assert info.initiator is Direction.CLIENT
    assert (info.client_code, info.client_reason) == (4000, "client done")
    assert info.clean


async def _close_after_first_message(ws: WebSocket) -> None:
    await ws.receive()
    await ws.close(4001, "bye")


@all_drivers
def test_server_close(ws_server: MockServer, driver: DriverClient) -> None:
    """The server's close 4001 "bye" ends receive with a DriverFailure carrying the close;
    the client's answering close frame is in the record."""
    ws_server.handler(_close_after_first_message)
    session = _connect(driver, ws_server.url)
    session.send("hello")
    with pytest.raises(DriverFailure) as caught:
        session.receive(TIMEOUT)
    assert caught.value.close is not None
    assert (caught.value.close["code"], caught.value.close["reason"]) == (4001, "bye")
    assert caught.value.close["clean"] is True
    session.close()  # after the end: reports the same close, does not fail
    info = ws_server.wait_for_connection().wait_closed()
    assert info.initiator is Direction.SERVER
    assert info.client_sent
    assert (info.client_code, info.client_reason) == CLOSE_ANSWERS[driver.name]


@all_drivers
@pytest.mark.wsmock(handshake=Handshake.reject(403))
def test_rejected_handshake(ws_server: MockServer, driver: DriverClient) -> None:
    """A 403 instead of 101 is a DriverFailure with the client's own error type; the driver
    stays up for the next connection."""
    with pytest.raises(DriverFailure) as caught:
        _connect(driver, ws_server.url)
    assert caught.value.type == REJECTION_TYPES[driver.name]
    assert "403" in str(caught.value)
    starts = driver.starts
    ws_server.handshake(Handshake.accept())
    _connect(driver, ws_server.url).close()
    assert driver.starts == starts


@all_drivers
def test_refused_connection(ws_refused_url: str, driver: DriverClient) -> None:
    """A port that refuses connections is a DriverFailure naming the refusal."""
    with pytest.raises(DriverFailure) as caught:
        driver.connect(ws_refused_url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT)
    assert "refused" in str(caught.value).lower() or "ECONNREFUSED" in str(caught.value)


@all_drivers
@pytest.mark.wsmock(handshake=Handshake.never_respond())
def test_server_never_answers(ws_server: MockServer, driver: DriverClient) -> None:
    """A handshake that never comes fails the connect by the client's own open timeout (a
    DriverFailure, not DriverHung: the driver answered)."""
    with pytest.raises(DriverFailure):
        driver.connect(ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=0.5)


VIOLATION = next(entry for entry in FRAME_VIOLATIONS if entry.id == "reserved-opcode-3")


async def _violate(ws: WebSocket) -> None:
    await ws.send_text("before")
    await VIOLATION.run(ws)
    with contextlib.suppress(ConnectionClosed):
        async for _ in ws:
            pass


@all_drivers
@pytest.mark.wsmock(deflate=False, strict=False, violation_grace=0.5, close_timeout=1.0)
def test_frame_violation(ws_server: MockServer, driver: DriverClient) -> None:
    """A frame with reserved opcode 3 after a legal message: the message arrives, then the
    client fails the connection (a DriverFailure), and every client sends close 1002."""
    ws_server.handler(_violate)
    session = _connect(driver, ws_server.url)
    assert session.receive(TIMEOUT) == "before"
    with pytest.raises(DriverFailure):
        session.receive(TIMEOUT)
    session.close()
    info = ws_server.wait_for_connection().wait_closed()
    assert info.client_code == 1002, str(info)


@pytest.mark.parametrize("driver", driver_params("node-ws", "gorilla"), indirect=True)
def test_wss_with_the_session_ca(wss_server: MockServer, driver: DriverClient) -> None:
    """Over wss:// the driver trusts the CA file it is given (and echoes 1 MiB).

    websockets' sync client is left out: over TLS 1.3 it sometimes never sends its request
    (CLIENTS.md), which would make this test flaky."""
    wss_server.handler(echo)
    data = bytes(2**20)
    session = driver.connect(
        wss_server.url, ssl=None, ca_path=str(wss_server.ca_path), subprotocols=(), timeout=TIMEOUT
    )
    session.send(data)
    assert session.receive(TIMEOUT) == data
    session.close()
    assert wss_server.url.startswith("wss://")
    assert wss_server.wait_for_connection().received_values == [data]


@pytest.mark.parametrize("driver", driver_params("node-ws", "gorilla"), indirect=True)
def test_wss_without_the_ca_is_refused(wss_server: MockServer, driver: DriverClient) -> None:
    """Without the CA, the server's certificate is not trusted: a DriverFailure."""
    with pytest.raises(DriverFailure) as caught:
        driver.connect(wss_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT)
    assert "certificate" in str(caught.value).lower()
