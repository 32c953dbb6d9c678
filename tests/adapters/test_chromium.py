"""The headless-Chromium adapter against the mock server: what page script observes, checked
against what the server's record says the browser did on the wire.

Every test skips (naming ``.ci/install-chromium``) when chromium, chromedriver or certutil is
missing. Every wait is bounded: the page's waits by the timeouts given here, chromedriver's
answers by those plus a margin, the server's by its own timeouts.
"""

from __future__ import annotations

import contextlib

import pytest

from pytest_wsmock import (
    FRAME_VIOLATIONS,
    ConnectionClosed,
    Direction,
    FrameViolation,
    Handshake,
    MockServer,
    ServerFactory,
    WebSocket,
    echo,
)

from .chromium import Chromium, ChromiumFailure

pytestmark = pytest.mark.external

#: Seconds for every connect and receive.
TIMEOUT = 5.0

#: Page script's view of every failed connection (WHATWG: error, then close 1006).
FAILED = "error event, then close 1006 (wasClean=false)"

VIOLATIONS = {entry.id: entry for entry in FRAME_VIOLATIONS}


def test_echoes_text_and_binary(ws_server: MockServer, chromium: Chromium) -> None:
    ws_server.handler(echo)
    session = chromium.connect(
        ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT
    )
    try:
        assert session.subprotocol is None
        session.send("héllo")
        assert session.receive(TIMEOUT) == "héllo"
        payload = bytes(range(256)) * 4096  # 1 MiB, every byte value
        session.send(payload)
        assert session.receive(TIMEOUT) == payload
        with pytest.raises(TimeoutError):
            session.receive(0.2)
    finally:
        session.close()
    conn = ws_server.wait_for_connection(0)
    assert [m.value for m in conn.received] == ["héllo", payload]


@pytest.mark.wsmock(subprotocols=["chat.v2", "chat.v1"])
def test_negotiates_a_subprotocol(ws_server: MockServer, chromium: Chromium) -> None:
    ws_server.handler(echo)
    session = chromium.connect(
        ws_server.url, ssl=None, ca_path=None, subprotocols=["chat.v1", "chat.v2"], timeout=TIMEOUT
    )
    session.close()
    conn = ws_server.wait_for_connection(0)
    assert conn.request is not None
    assert conn.response is not None
    assert conn.request.headers.get("Sec-WebSocket-Protocol") == "chat.v1, chat.v2"
    assert conn.response.headers.get("Sec-WebSocket-Protocol") == "chat.v1"
    assert session.subprotocol == "chat.v1"  # ws.protocol in page script


def test_page_closes_cleanly(ws_server: MockServer, chromium: Chromium) -> None:
    ws_server.handler(echo)
    session = chromium.connect(
        ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT
    )
    session.close()  # ws.close(1000, "")
    assert session.events[-1] == {**session.events[-1], "type": "close", "code": 1000}
    assert session.events[-1]["clean"] is True
    info = ws_server.wait_for_connection(0).wait_closed(TIMEOUT)
    assert info.initiator is Direction.CLIENT
    assert (info.client_code, info.client_reason) == (1000, "")
    assert (info.server_code, info.clean) == (1000, True)


def test_server_closes_cleanly(ws_server: MockServer, chromium: Chromium) -> None:
    async def bye(ws: WebSocket) -> None:
        await ws.close(4000, "bye")

    ws_server.handler(bye)
    session = chromium.connect(
        ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT
    )
    with pytest.raises(ChromiumFailure) as caught:
        session.receive(TIMEOUT)
    with pytest.raises(ChromiumFailure, match="close 4000"):
        session.receive(TIMEOUT)  # at once: nothing comes after the close event
    session.close()
    assert str(caught.value) == "close 4000 'bye' (wasClean=true)"
    assert caught.value.close == {"code": 4000, "reason": "bye", "clean": True}
    assert not caught.value.error
    info = ws_server.wait_for_connection(0).wait_closed(TIMEOUT)
    assert info.initiator is Direction.SERVER
    assert info.client_code == 4000  # Chromium echoes the server's code
    assert info.clean


def test_rejected_handshake_is_error_then_1006(ws_server: MockServer, chromium: Chromium) -> None:
    ws_server.handshake(Handshake.reject(403))
    with pytest.raises(ChromiumFailure) as caught:
        chromium.connect(ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT)
    # Page script cannot tell a 403 from any other failed handshake ...
    assert str(caught.value) == FAILED
    assert [event["type"] for event in caught.value.events] == ["error", "close"]
    # ... the record shows what the browser was answered.
    conn = ws_server.wait_for_connection(0)
    assert conn.response is not None
    assert conn.response.status == 403
    assert not conn.accepted


def test_an_unanswered_handshake_ends_at_the_timeout(
    ws_server: MockServer, chromium: Chromium
) -> None:
    ws_server.handshake(Handshake.never_respond())
    with pytest.raises(ChromiumFailure) as caught:
        chromium.connect(ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=0.5)
    assert str(caught.value) == f"no open event within 0.5 s, page script closed it: {FAILED}"
    conn = ws_server.wait_for_connection(0)
    assert conn.wait_closed(TIMEOUT).tcp_closed_by is Direction.CLIENT


@pytest.mark.wsmock(deflate=False, strict=False, violation_grace=0.5)
@pytest.mark.parametrize(
    ("entry", "wire_reason"),
    [
        (VIOLATIONS["reserved-opcode-3"], "Unknown opcode"),
        (VIOLATIONS["masked-frame"], "Masked frame from server"),
        # Bad UTF-8 is due 1007; Chromium sends 1002.
        (VIOLATIONS["invalid-utf8"], "Invalid UTF-8 in text frame"),
    ],
    ids=lambda value: value.id if isinstance(value, FrameViolation) else "",
)
def test_frame_violation(
    ws_server: MockServer, chromium: Chromium, entry: FrameViolation, wire_reason: str
) -> None:
    async def violate(ws: WebSocket) -> None:
        await ws.send_text("before")
        await ws.pause(0.1)  # a message in the same TCP read as a framing error can be lost
        await entry.run(ws)
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass

    ws_server.handler(violate)
    session = chromium.connect(
        ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT
    )
    assert session.receive(TIMEOUT) == "before"
    with pytest.raises(ChromiumFailure) as caught:
        session.receive(TIMEOUT)
    session.close()
    # Page script sees the WHATWG failure ...
    assert str(caught.value) == FAILED
    # ... while the browser sent a close frame with 1002 and its reason on the wire.
    info = ws_server.wait_for_connection(0).wait_closed(TIMEOUT)
    assert (info.client_code, info.client_reason) == (1002, wire_reason)
    # Who closed TCP is not pinned: Chromium's FIN and the server's, after the closing
    # handshake, race (the server closed first in 1 of 3 runs on a loaded machine).


def test_wss_with_the_session_ca(wss_server: MockServer, chromium: Chromium) -> None:
    wss_server.handler(echo)
    session = chromium.connect(
        wss_server.url,
        ssl=wss_server.client_ssl_context(),
        ca_path=str(wss_server.ca_path),
        subprotocols=(),
        timeout=TIMEOUT,
    )
    try:
        session.send("over tls")
        assert session.receive(TIMEOUT) == "over tls"
    finally:
        session.close()
    assert wss_server.wait_for_connection(0).wait_closed(TIMEOUT).clean


@pytest.mark.wsmock(tls_fault="untrusted")
def test_wss_with_an_untrusted_certificate_fails(
    wss_server: MockServer, chromium: Chromium
) -> None:
    wss_server.handler(echo)
    with pytest.raises(ChromiumFailure) as caught:
        chromium.connect(
            wss_server.url,
            ssl=wss_server.client_ssl_context(),
            ca_path=str(wss_server.ca_path),
            subprotocols=(),
            timeout=TIMEOUT,
        )
    assert str(caught.value) == FAILED
    conn = wss_server.wait_for_connection(0)
    assert conn.tls_error is not None
    assert conn.request is None


def test_two_connections_at_once_keep_their_tabs(ws_server: MockServer, chromium: Chromium) -> None:
    ws_server.handler(echo)
    first = chromium.connect(
        ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT
    )
    second = chromium.connect(
        ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT
    )
    try:
        first.send("one")
        second.send("two")
        assert second.receive(TIMEOUT) == "two"
        assert first.receive(TIMEOUT) == "one"
    finally:
        first.close()
        second.close()
    assert [ws_server.wait_for_connection(i).received_values for i in (0, 1)] == [["one"], ["two"]]


def test_restarts_for_failures_and_for_a_new_ca(
    ws_server_factory: ServerFactory, chromium: Chromium
) -> None:
    """A browser of its own: restarted after two failed connections, and for a CA it was not
    started with (Chromium does not see a certificate added to its NSS db while it runs)."""
    del chromium  # only its skip: this test needs a browser whose restarts it can count
    rejecting = ws_server_factory(handshake=Handshake.reject(503))
    wss = ws_server_factory(tls=True)
    wss.handler(echo)
    own = Chromium(restart_after_failures=2)
    try:
        for _ in range(2):
            with pytest.raises(ChromiumFailure):
                own.connect(rejecting.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT)
        session = own.connect(
            wss.url, ssl=None, ca_path=str(wss.ca_path), subprotocols=(), timeout=TIMEOUT
        )
        session.send("trusted")
        assert session.receive(TIMEOUT) == "trusted"
        session.close()
        # Restarted once for the CA (which also makes the failures count start again).
        assert (own.timings.restarts_for_ca, own.timings.restarts_for_failures) == (1, 0)
        for _ in range(2):
            with pytest.raises(ChromiumFailure):
                own.connect(rejecting.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT)
        session = own.connect(wss.url, ssl=None, ca_path=None, subprotocols=(), timeout=TIMEOUT)
        session.close()
        assert (own.timings.restarts_for_ca, own.timings.restarts_for_failures) == (1, 1)
        assert len(own.timings.starts) == 3
    finally:
        own.close()
