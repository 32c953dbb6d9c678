"""wsproto's sans-IO client (``WSConnection``) driven over a plain blocking socket.

wsproto does no I/O, so the small ``_Client`` below moves its bytes over a ``socket`` whose
every operation has a timeout. wsproto answers nothing on its own: the test decides when to
pong and how to answer a close, which makes it the most precise client of the suite.
"""

from __future__ import annotations

import socket
import ssl
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.extensions import Extension, PerMessageDeflate

from pytest_wsmock import Direction, MockServer, Opcode

from ._support import (
    CLIENT_CLOSE_CODE,
    CLIENT_CLOSE_REASON,
    COMPRESSIBLE_TEXT,
    OFFERED_SUBPROTOCOLS,
    SERVER_CLOSE_CODE,
    SERVER_CLOSE_REASON,
    TIMEOUT,
    Kind,
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


class _Client:
    """A wsproto client connection over a blocking socket with a timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.pending: deque[Event] = deque()
        self.accept: AcceptConnection | None = None
        self.eof = False

    def send(self, event: Event) -> None:
        self.sock.sendall(self.ws.send(event))

    def next_event(self) -> Event:
        """The next event, reading from the socket (with its timeout) as needed."""
        while not self.pending:
            assert not self.eof, "the server closed TCP while the client expected an event"
            data = self.sock.recv(65536)
            if not data:
                self.eof = True
            self.ws.receive_data(data or None)
            self.pending.extend(self.ws.events())
        return self.pending.popleft()

    def handshake(self, host: str, target: str, **request: object) -> AcceptConnection:
        self.send(Request(host=host, target=target, **request))  # type: ignore[arg-type]
        event = self.next_event()
        assert isinstance(event, AcceptConnection), event
        assert self.ws.state is ConnectionState.OPEN
        self.accept = event
        return event

    def receive_message(self) -> str | bytes:
        """The next whole data message (wsproto may hand it over in several chunks)."""
        texts: list[str] = []
        chunks: list[bytes] = []
        while True:
            event = self.next_event()
            if isinstance(event, TextMessage):
                assert not chunks, "a text chunk inside a binary message"
                texts.append(event.data)
            elif isinstance(event, BytesMessage):
                assert not texts, "a binary chunk inside a text message"
                chunks.append(bytes(event.data))
            else:
                raise AssertionError(f"expected a data message, got {event!r}")
            if event.message_finished:
                return "".join(texts) if texts or not chunks else b"".join(chunks)

    def state(self) -> ConnectionState:
        """wsproto's connection state."""
        return self.ws.state

    def close(self, code: int = 1000, reason: str = "") -> CloseConnection:
        """Run the closing handshake from the client side; the server's answer."""
        self.send(CloseConnection(code=code, reason=reason))
        event = self.next_event()
        assert isinstance(event, CloseConnection), event
        self.wait_for_eof()
        return event

    def wait_for_eof(self) -> None:
        """Read until the server closes TCP (RFC 6455: the server closes first)."""
        while not self.eof:
            data = self.sock.recv(65536)
            assert not data, f"unexpected bytes after the closing handshake: {data!r}"
            self.eof = True


def _message(data: str | bytes, *, finished: bool = True) -> Event:
    """A wsproto data event carrying ``data`` (text for ``str``, binary for ``bytes``)."""
    if isinstance(data, str):
        return TextMessage(data=data, message_finished=finished)
    return BytesMessage(data=data, message_finished=finished)


@contextmanager
def _open(
    server: MockServer,
    target: str = "/",
    *,
    ssl_context: ssl.SSLContext | None = None,
    subprotocols: Sequence[str] = (),
    extensions: Sequence[Extension] = (),
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> Iterator[_Client]:
    """An open wsproto connection; at exit it is closed (1000) if the test left it open."""
    sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    try:
        if ssl_context is not None:
            sock = ssl_context.wrap_socket(sock, server_hostname=server.host)
        client = _Client(sock)
        client.handshake(
            f"{server.host}:{server.port}",
            target,
            subprotocols=list(subprotocols),
            extensions=list(extensions),
            extra_headers=list(extra_headers),
        )
        yield client
        if client.state() is ConnectionState.OPEN and not client.eof:
            client.close()
    finally:
        sock.close()


@kind_and_size
def test_echo_sizes(echo_server: MockServer, kind: Kind, size: int) -> None:
    """A text or binary message of each length form is echoed and recorded as one masked frame."""
    data = payload(kind, size)
    with _open(echo_server) as client:
        client.send(_message(data))
        assert client.receive_message() == data
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_echoed_once(conn, data)


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_fragmented_message(echo_server: MockServer, kind: Kind) -> None:
    """message_finished=False fragments are recorded as CONTINUATION frames and reassembled."""
    chunks = [b"frag-1 ", b"frag-2 ", b"frag-3 ", b"frag-4"]
    with _open(echo_server) as client:
        for i, chunk in enumerate(chunks):
            data: str | bytes = chunk.decode() if kind == "text" else chunk
            client.send(_message(data, finished=i == len(chunks) - 1))
        echoed = client.receive_message()
    whole = b"".join(chunks)
    assert echoed == (whole.decode() if kind == "text" else whole)
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    message = assert_fragmented(conn, chunks, Opcode.TEXT if kind == "text" else Opcode.BINARY)
    assert message.frames == 4


def test_fragmented_non_ascii_text(echo_server: MockServer) -> None:
    """Non-ASCII text sent in fragments is reassembled byte-exact and raises no violation."""
    text = "héllo wörld ✓"
    with _open(echo_server) as client:
        client.send(TextMessage(data=text[:3], message_finished=False))
        client.send(TextMessage(data=text[3:], message_finished=True))
        assert client.receive_message() == text
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.received_texts == [text]
    assert conn.violations == []
    assert_fragmented(conn, [text[:3].encode(), text[3:].encode()], Opcode.TEXT)


def test_client_ping_gets_pong(echo_server: MockServer) -> None:
    """A client ping is answered by the server's pong with the same payload."""
    with _open(echo_server) as client:
        client.send(Ping(payload=b"hi"))
        event = client.next_event()
        assert isinstance(event, Pong)
        assert event.payload == b"hi"
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_client_ping_answered(conn, b"hi")


def test_server_ping_gets_pong(ws_server: MockServer) -> None:
    """The handler's ping reaches wsproto as a Ping event; its response() is recorded."""
    ws_server.handler(ping_then_echo)
    with _open(ws_server) as client:
        event = client.next_event()
        assert isinstance(event, Ping)
        assert event.payload == b"x"
        client.send(event.response())
        assert client.receive_message() == "pinged"
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert_server_ping_answered(conn)


def test_client_close_with_code_and_reason(echo_server: MockServer) -> None:
    """CloseConnection(4000, reason) is recorded; the server echoes the code, closes TCP first."""
    with _open(echo_server) as client:
        client.send(_message("hello"))
        assert client.receive_message() == "hello"
        answer = client.close(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
        assert answer.code == CLIENT_CLOSE_CODE
        assert answer.reason == ""
        assert client.state() is ConnectionState.CLOSED
        assert client.eof
    conn = echo_server.wait_for_connection()
    info = conn.wait_closed()
    assert_client_initiated_close(info, CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON)
    assert_close_frames(
        conn,
        close_payload(CLIENT_CLOSE_CODE, CLIENT_CLOSE_REASON),
        close_payload(CLIENT_CLOSE_CODE),
    )


def test_server_close_with_code_and_reason(ws_server: MockServer) -> None:
    """A handler's close(4001, "bye") reaches wsproto; its response() echoes code and reason."""
    ws_server.handler(close_4001_after_first_message)
    with _open(ws_server) as client:
        client.send(_message("hello"))
        event = client.next_event()
        assert isinstance(event, CloseConnection)
        assert (event.code, event.reason) == (SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)
        assert client.state() is ConnectionState.REMOTE_CLOSING
        client.send(event.response())
        client.wait_for_eof()
        assert client.state() is ConnectionState.CLOSED
    conn = ws_server.wait_for_connection()
    info = conn.wait_closed()
    assert_server_initiated_close(
        info, client_code=SERVER_CLOSE_CODE, client_reason=SERVER_CLOSE_REASON
    )
    assert conn.received_texts == ["hello"]
    (client_close,) = frames_of(conn, Direction.CLIENT, Opcode.CLOSE)
    assert client_close.payload == close_payload(SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)


@pytest.mark.wsmock(strict=False)
def test_client_drops_tcp_without_close_frame(echo_server: MockServer) -> None:
    """A client that closes TCP without a close frame is recorded as an unclean end and as a
    no-closing-handshake violation."""
    with _open(echo_server) as client:
        client.send(_message("hello"))
        assert client.receive_message() == "hello"
        client.sock.shutdown(socket.SHUT_WR)
        rest = b""
        while chunk := client.sock.recv(65536):
            rest += chunk
        client.eof = True
    # Whatever the server still writes to the half-closed client is at most one close frame.
    assert rest == b"" or (rest[0] == 0x88 and len(rest) == 2 + rest[1]), rest
    conn = echo_server.wait_for_connection()
    info = conn.wait_closed()
    assert not info.client_sent
    assert info.client_code is None
    assert info.tcp_closed_by is Direction.CLIENT, str(info)
    assert info.tcp_end == "fin"
    assert not info.clean
    assert frames_of(conn, Direction.CLIENT, Opcode.CLOSE) == []
    assert conn.received_texts == ["hello"]
    assert [v.kind for v in conn.violations] == ["no-closing-handshake"]


@pytest.mark.wsmock(subprotocols=["chat"])
def test_subprotocol_selected(echo_server: MockServer) -> None:
    """The server picks "chat" from ["superchat", "chat"] and the client agrees."""
    with _open(echo_server, subprotocols=OFFERED_SUBPROTOCOLS) as client:
        assert client.accept is not None
        assert client.accept.subprotocol == "chat"
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_subprotocol_chat(conn)


def test_permessage_deflate(echo_server: MockServer) -> None:
    """With the PerMessageDeflate extension offered, messages go compressed both ways."""
    with _open(echo_server, extensions=[PerMessageDeflate()]) as client:
        assert client.accept is not None
        assert [e.name for e in client.accept.extensions] == ["permessage-deflate"]
        client.send(_message(COMPRESSIBLE_TEXT))
        assert client.receive_message() == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.request is not None
    assert [e.name for e in conn.request.extensions] == ["permessage-deflate"]
    assert_deflated(conn, COMPRESSIBLE_TEXT)


def test_permessage_deflate_no_context_takeover(echo_server: MockServer) -> None:
    """Offered no_context_takeover and window bits are honoured over several messages."""
    extension = PerMessageDeflate(
        client_no_context_takeover=True,
        client_max_window_bits=10,
        server_no_context_takeover=True,
        server_max_window_bits=10,
    )
    with _open(echo_server, extensions=[extension]) as client:
        assert client.accept is not None
        for _ in range(3):
            client.send(_message(COMPRESSIBLE_TEXT))
            assert client.receive_message() == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert conn.extensions is not None
    assert "server_no_context_takeover" in conn.extensions
    assert "server_max_window_bits=10" in conn.extensions
    assert conn.received_texts == [COMPRESSIBLE_TEXT] * 3
    assert all(m.compressed for m in conn.messages)
    assert len(conn.sent) == 3


@pytest.mark.wsmock(deflate=False)
def test_permessage_deflate_disabled(echo_server: MockServer) -> None:
    """With deflate=False the offer is declined and nothing is compressed."""
    with _open(echo_server, extensions=[PerMessageDeflate()]) as client:
        assert client.accept is not None
        assert client.accept.extensions == []
        client.send(_message(COMPRESSIBLE_TEXT))
        assert client.receive_message() == COMPRESSIBLE_TEXT
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_not_deflated(conn, COMPRESSIBLE_TEXT)


def test_wss_with_client_ssl_context(echo_wss_server: MockServer) -> None:
    """wss:// works over a socket wrapped with client_ssl_context()."""
    with _open(echo_wss_server, ssl_context=echo_wss_server.client_ssl_context()) as client:
        client.send(_message("over tls"))
        assert client.receive_message() == "over tls"
    conn = echo_wss_server.wait_for_connection()
    conn.wait_closed()
    assert_tls_connection(conn, "over tls")


def test_wss_with_ca_path(echo_wss_server: MockServer) -> None:
    """wss:// works over a socket wrapped with a context that trusts the CA file at ca_path."""
    context = ssl.create_default_context(cafile=str(echo_wss_server.ca_path))
    with _open(echo_wss_server, ssl_context=context) as client:
        client.send(_message("over tls"))
        assert client.receive_message() == "over tls"
    conn = echo_wss_server.wait_for_connection()
    conn.wait_closed()
    assert_tls_connection(conn, "over tls")


def test_request_record(echo_server: MockServer) -> None:
    """Path, query, Origin and extra headers are recorded exactly as wsproto wrote them."""
    with _open(
        echo_server,
        "/feed/v1?room=7&name=a%20b",
        extra_headers=[(b"Origin", b"https://app.example"), (b"X-Token", b"s3cret")],
    ):
        pass
    conn = echo_server.wait_for_connection()
    conn.wait_closed()
    assert_request_basics(conn, "/feed/v1", "room=7&name=a%20b", echo_server.port)
    request = conn.request
    assert request is not None
    assert request.origin == "https://app.example"
    assert request.headers.get("x-token") == "s3cret"
    assert request.subprotocols == ()
    assert request.extensions == ()
    assert request.host == f"{echo_server.host}:{echo_server.port}"
