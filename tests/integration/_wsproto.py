"""wsproto's sans-IO client (``WSConnection``) over a blocking socket, for the scenarios.

wsproto does no I/O, so :class:`WsprotoClient` moves its bytes over a ``socket`` whose every
operation has a timeout. wsproto answers nothing on its own: the caller decides when to pong
and how to answer a close, which makes it the most precise client of the suite.
"""

from __future__ import annotations

import socket
import ssl
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

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

from ._clients import Conn, Options, ca_context, fragment_events, message_event
from ._support import TIMEOUT


class WsprotoClient:
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


class _WsprotoConn:
    def __init__(self, client: WsprotoClient) -> None:
        self.client = client
        assert client.accept is not None
        self.subprotocol = client.accept.subprotocol
        self.extensions = [e.name for e in client.accept.extensions]

    def send(self, data: str | bytes) -> None:
        self.client.send(message_event(data))

    def receive(self) -> str | bytes:
        return self.client.receive_message()

    def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        for event in fragment_events(chunks):
            self.client.send(event)

    def ping(self, payload: bytes) -> None:
        self.client.send(Ping(payload=payload))
        event = self.client.next_event()
        assert isinstance(event, Pong), event
        assert event.payload == payload

    def answer_ping(self) -> bytes:
        event = self.client.next_event()
        assert isinstance(event, Ping), event
        self.client.send(event.response())
        return bytes(event.payload)

    def close(self, code: int, reason: str) -> int | None:
        answer = self.client.close(code, reason)
        assert answer.reason == ""
        assert self.client.state() is ConnectionState.CLOSED
        assert self.client.eof
        return answer.code

    def server_close(self) -> tuple[int, str]:
        event = self.client.next_event()
        assert isinstance(event, CloseConnection), event
        assert self.client.state() is ConnectionState.REMOTE_CLOSING
        self.client.send(event.response())
        self.client.wait_for_eof()
        assert self.client.state() is ConnectionState.CLOSED
        assert event.reason is not None
        return event.code, event.reason


@contextmanager
def wsproto_open(
    url: str,
    options: Options | None = None,
    *,
    extensions: Sequence[Extension] | None = None,
) -> Iterator[WsprotoClient]:
    """An open wsproto connection; at exit it is closed (1000) if the caller left it open.

    ``extensions`` replaces what ``options.deflate`` offers (a ``PerMessageDeflate()``).
    """
    options = options or Options()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if extensions is None:
        extensions = [PerMessageDeflate()] if options.deflate else []
    headers = [(k.encode(), v.encode()) for k, v in options.headers.items()]
    if options.origin is not None:
        headers.insert(0, (b"Origin", options.origin.encode()))
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    try:
        context = ca_context(options)
        if context is None and parts.scheme == "wss":
            context = ssl.create_default_context()
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=host)
        client = WsprotoClient(sock)
        client.handshake(
            f"{host}:{port}",
            target,
            subprotocols=list(options.subprotocols),
            extensions=list(extensions),
            extra_headers=headers,
        )
        yield client
        if client.state() is ConnectionState.OPEN and not client.eof:
            client.close()
    finally:
        sock.close()


class Wsproto:
    """wsproto's sans-IO client (``WSConnection``) over a blocking socket."""

    @contextmanager
    def open(self, url: str, options: Options) -> Iterator[Conn]:
        with wsproto_open(url, options) as client:
            yield _WsprotoConn(client)
