"""Every scenario once, run with every real client against the mock server over loopback.

Each test checks what the client saw and what the server recorded. Where clients differ, the
difference is read from the client's row in ``_table.py``; a scenario a client cannot do is
skipped for it with the reason. What only one client can do is in that client's own module
(``test_websockets.py``, ``test_aiohttp.py``, ``test_websocket_client.py``, ``test_wsproto.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pytest_wsmock import (
    Direction,
    MockServer,
    Opcode,
    ServerError,
    ServerFactory,
    WebSocket,
    echo,
)

from ._clients import Options
from ._support import (
    CLIENT_CLOSE_CODE,
    CLIENT_CLOSE_REASON,
    COMPRESSIBLE_TEXT,
    OFFERED_SUBPROTOCOLS,
    SERVER_CLOSE_CODE,
    SERVER_CLOSE_REASON,
    Kind,
    as_bytes,
    assert_client_initiated_close,
    assert_client_ping_answered,
    assert_close_frames,
    assert_deflated,
    assert_echoed_once,
    assert_fragmented,
    assert_not_deflated,
    assert_request_basics,
    assert_server_initiated_close,
    assert_server_ping_answered,
    assert_subprotocol_chat,
    assert_tls_connection,
    close_4001_after_first_message,
    close_payload,
    frames_of,
    kind_and_size,
    payload,
    ping_then_echo,
)
from ._table import Traits, each_client

NO_OPTIONS = Options()

#: The chunks of a fragmented message: four frames, the binary ones with non-ASCII bytes.
CHUNKS: dict[Kind, Sequence[str | bytes]] = {
    "text": ["frag-1 ", "frag-2 ", "frag-3 ", "frag-4"],
    "binary": [b"\x00\x01", b"\x02", b"\x03\x04", b"\xff"],
}


@kind_and_size
@each_client
def test_echo_sizes(echo_server: MockServer, traits: Traits, kind: Kind, size: int) -> None:
    """A text or binary message of each length form is echoed and recorded as one masked frame."""
    data = payload(kind, size)
    with traits.client.open(echo_server.url, NO_OPTIONS) as ws:
        ws.send(data)
        assert ws.receive() == data
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_echoed_once(conn, data)


@pytest.mark.parametrize("kind", ["text", "binary"])
@each_client
def test_fragmented(echo_server: MockServer, traits: Traits, kind: Kind) -> None:
    """A message sent in four frames is recorded as CONTINUATION frames and reassembled."""
    traits.skip_unless("fragments")
    chunks = CHUNKS[kind]
    with traits.client.open(echo_server.url, NO_OPTIONS) as ws:
        ws.send_fragments(chunks)
        echoed = ws.receive()
    assert type(echoed) is type(chunks[0])
    raw = [as_bytes(c) for c in chunks]
    assert as_bytes(echoed) == b"".join(raw)
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    opcode = Opcode.TEXT if kind == "text" else Opcode.BINARY
    empty_final_frame = traits.fragments == "empty-final"
    assert_fragmented(conn, raw, opcode, empty_final_frame=empty_final_frame)


@each_client
def test_client_ping_gets_pong(echo_server: MockServer, traits: Traits) -> None:
    """A client ping is answered by the server's automatic pong with the same payload."""
    with traits.client.open(echo_server.url, Options(autoping=False)) as ws:
        ws.ping(b"hi")
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_client_ping_answered(conn, b"hi")


@each_client
def test_server_ping_gets_pong(ws_server: MockServer, traits: Traits) -> None:
    """A ping from the handler is answered by the client's pong, recorded in conn.pongs."""
    ws_server.handler(ping_then_echo)
    with traits.client.open(ws_server.url, NO_OPTIONS) as ws:
        if not traits.auto_pong:
            assert ws.answer_ping() == b"x"
        assert ws.receive() == "pinged"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert_server_ping_answered(conn)


@each_client
def test_client_close_with_code_and_reason(echo_server: MockServer, traits: Traits) -> None:
    """A client close with 4000 and a reason is recorded; the server echoes the code and, for
    a client that waits for it, closes TCP first."""
    with traits.client.open(echo_server.url, NO_OPTIONS) as ws:
        ws.send("hello")
        assert ws.receive() == "hello"
        reported = ws.close(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
    assert reported == (CLIENT_CLOSE_CODE if traits.reports_close_code else None)
    conn = echo_server.wait_for_connection()
    info = conn.wait_closed()
    assert info.initiator is Direction.CLIENT
    assert (info.client_code, info.client_reason) == (CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
    assert info.server_sent
    assert info.server_code == CLIENT_CLOSE_CODE
    (client_close,) = frames_of(conn, Direction.CLIENT, Opcode.CLOSE)
    assert client_close.payload == close_payload(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
    if traits.waits_for_close:
        assert_client_initiated_close(info, CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
        assert_close_frames(
            conn,
            close_payload(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON),
            close_payload(CLIENT_CLOSE_CODE),
        )


@each_client
def test_server_close_with_code_and_reason(ws_server: MockServer, traits: Traits) -> None:
    """A handler's close(4001, "bye") reaches the client, which answers it its own way."""
    ws_server.handler(close_4001_after_first_message)
    with traits.client.open(ws_server.url, NO_OPTIONS) as ws:
        ws.send("hello")
        assert ws.server_close() == (SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    code, reason = traits.reply_to(SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)
    assert_server_initiated_close(info, client_code=code, client_reason=reason)
    assert conn.received_texts == ["hello"]
    (client_close,) = frames_of(conn, Direction.CLIENT, Opcode.CLOSE)
    assert client_close.payload == close_payload(code, reason)


async def _fails_after_first_message(ws: WebSocket) -> None:
    await ws.receive()
    raise ValueError("boom")


@each_client
def test_handler_error(ws_server: MockServer, traits: Traits) -> None:
    """A handler that raises closes the connection with 1011 "handler error", which the client
    sees and answers; the error is the server's failure (taken here, so the test passes)."""
    ws_server.handler(_fails_after_first_message)
    with traits.client.open(ws_server.url, NO_OPTIONS) as ws:
        ws.send("hello")
        assert ws.server_close() == (1011, "handler error")
    # The server records the error before it sends its close frame: it is there by now.
    failure = ws_server.take_failure()
    assert isinstance(failure, ServerError)
    assert "handler _fails_after_first_message on connection #0" in str(failure)
    assert isinstance(failure.__cause__, ValueError)
    assert str(failure.__cause__) == "boom"
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    code, reason = traits.reply_to(1011, "handler error")
    assert_server_initiated_close(
        info, client_code=code, client_reason=reason, server=(1011, "handler error")
    )
    assert conn.received_texts == ["hello"]
    assert ws_server.take_failure() is None


@pytest.mark.wsmock(subprotocols=["chat"])
@each_client
def test_subprotocol_selected(echo_server: MockServer, traits: Traits) -> None:
    """The server picks "chat" from ["superchat", "chat"] and the client agrees."""
    with traits.client.open(echo_server.url, Options(subprotocols=OFFERED_SUBPROTOCOLS)) as ws:
        assert ws.subprotocol == "chat"
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_subprotocol_chat(conn)


@each_client
def test_no_subprotocol_configured(ws_server_factory: ServerFactory, traits: Traits) -> None:
    """With no subprotocols configured, the server selects none; the client accepts that, or
    (``refuses_no_subprotocol``) raises and drops TCP without a close frame."""
    refusal = traits.refuses_no_subprotocol
    server = ws_server_factory(allow=["no-closing-handshake"] if refusal else [])
    server.handler(echo)
    options = Options(subprotocols=OFFERED_SUBPROTOCOLS)
    if refusal is None:
        with traits.client.open(server.url, options) as ws:
            assert ws.subprotocol is None
    else:
        error, message = refusal
        with pytest.raises(error, match=message), traits.client.open(server.url, options):
            pass
    conn = server.wait_for_connection()
    conn.wait_closed()
    assert conn.subprotocol is None
    assert conn.response is not None
    assert "Sec-WebSocket-Protocol" not in conn.response.headers
    kinds = [v.kind for v in conn.violations]
    assert kinds == ([] if refusal is None else ["no-closing-handshake"])


@each_client
def test_permessage_deflate(echo_server: MockServer, traits: Traits) -> None:
    """An offer of permessage-deflate is accepted; messages go compressed both ways."""
    traits.skip_unless("deflate")
    with traits.client.open(echo_server.url, Options(deflate=True)) as ws:
        assert ws.extensions == ["permessage-deflate"]
        ws.send(COMPRESSIBLE_TEXT)
        assert ws.receive() == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.request is not None
    assert [e.name for e in conn.request.extensions] == ["permessage-deflate"]
    offer = conn.request.headers.get("Sec-WebSocket-Extensions") or ""
    assert offer.startswith("permessage-deflate"), offer
    assert_deflated(conn, COMPRESSIBLE_TEXT)


@pytest.mark.wsmock(deflate=False)
@each_client
def test_permessage_deflate_disabled(echo_server: MockServer, traits: Traits) -> None:
    """With deflate=False the offer is declined and the client sends nothing compressed."""
    traits.skip_unless("deflate")
    with traits.client.open(echo_server.url, Options(deflate=True)) as ws:
        assert ws.extensions == []
        ws.send(COMPRESSIBLE_TEXT)
        assert ws.receive() == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.request is not None
    assert [e.name for e in conn.request.extensions] == ["permessage-deflate"]
    assert_not_deflated(conn, COMPRESSIBLE_TEXT)


@each_client
def test_no_deflate_without_offer(echo_server: MockServer, traits: Traits) -> None:
    """A client that offers no extension gets none, and nothing is compressed."""
    with traits.client.open(echo_server.url, NO_OPTIONS) as ws:
        assert ws.extensions == []
        ws.send(COMPRESSIBLE_TEXT)
        assert ws.receive() == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.request is not None
    assert conn.request.extensions == ()
    assert_not_deflated(conn, COMPRESSIBLE_TEXT)


@pytest.mark.parametrize("trust", ["client-ssl-context", "ca-path"])
@each_client
def test_wss(echo_wss_server: MockServer, traits: Traits, trust: str) -> None:
    """wss:// works with the context from client_ssl_context(), and with the CA file at
    ca_path given the way the client takes a CA."""
    assert echo_wss_server.url.startswith("wss://")
    if trust == "ca-path":
        options = Options(ca_path=str(echo_wss_server.ca_path))
    else:
        options = Options(ssl=echo_wss_server.client_ssl_context())
    with traits.client.open(echo_wss_server.url, options) as ws:
        ws.send("over tls")
        assert ws.receive() == "over tls"
    conn = echo_wss_server.wait_for_connection()
    conn.wait_closed()
    assert_tls_connection(conn, "over tls")


@each_client
def test_wss_untrusted_fails(wss_server: MockServer, traits: Traits) -> None:
    """Without the CA, the client refuses the certificate and the server records why."""
    traits.skip_unless("untrusted")
    with pytest.raises(traits.untrusted), traits.client.open(wss_server.url, NO_OPTIONS):
        pass
    conn = wss_server.wait_for_connection()
    conn.wait_closed()
    assert conn.tls_error is not None
    assert conn.request is None
    assert not conn.accepted


@each_client
def test_request_record(echo_server: MockServer, traits: Traits) -> None:
    """Path, query, Origin and custom headers are recorded as the client sent them."""
    url = echo_server.url_for("/feed/v1?room=7&name=a%20b")
    headers = {"X-Token": "s3cret", "User-Agent": "wsmock-test/1.0"}
    with traits.client.open(url, Options(origin="https://app.example", headers=headers)):
        pass
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_request_basics(conn, "/feed/v1", "room=7&name=a%20b", echo_server.port)
    request = conn.request
    assert request is not None
    assert request.query_params == {"room": ["7"], "name": ["a b"]}
    assert request.origin == "https://app.example"
    assert request.headers.get("x-token") == "s3cret"
    assert request.headers.get("User-Agent") == "wsmock-test/1.0"
    assert request.subprotocols == ()
    assert request.extensions == ()
    assert request.host == f"127.0.0.1:{echo_server.port}"
    assert conn.path == "/feed/v1"


@each_client
def test_default_request_headers(echo_server: MockServer, traits: Traits) -> None:
    """The Origin and User-Agent a client sends unless told otherwise."""
    with traits.client.open(echo_server.url, NO_OPTIONS):
        pass
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    request = conn.request
    assert request is not None
    assert request.path == "/"
    expected_origin = traits.default_origin
    assert request.origin == (expected_origin and expected_origin.format(port=echo_server.port))
    user_agent = request.headers.get("User-Agent")
    if traits.user_agent is None:
        assert user_agent is None
    else:
        assert (user_agent or "").startswith(traits.user_agent), user_agent
