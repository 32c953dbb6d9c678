"""The wsproto adapter: ``wsproto.WSConnection(CLIENT)`` over a blocking socket, driven as
wsproto's own example drives it (answer pings, answer a ``CloseConnection`` event with
``event.response()``, read until EOF), with a deadline on every read."""

from __future__ import annotations

import socket
import ssl as _ssl
import time
import urllib.parse
from collections import deque
from collections.abc import Sequence

import wsproto.events
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from .failure import ClientFailure, failure

_WSPROTO = (RemoteProtocolError, LocalProtocolError, OSError)


class _Socket:
    """A blocking socket whose reads end by a deadline (``TimeoutError``)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(left)
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("timed out") from None


def _split(url: str) -> tuple[str, int, str]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port, target


class WsprotoSession:
    """One connection: the socket, the protocol state, and events not yet handed out."""

    def __init__(
        self, sock: socket.socket, ws: WSConnection, subprotocol: str | None, timeout: float
    ) -> None:
        self.sock = sock
        self.reader = _Socket(sock)
        self.ws = ws
        self.subprotocol = subprotocol
        self.timeout = timeout
        self.pending: deque[wsproto.events.Event] = deque()
        self.parts: list[str | bytes] = []
        self.eof = False
        self.ended: ClientFailure | None = None

    def _feed(self, deadline: float) -> None:
        data = self.reader.recv(deadline)
        self.eof = not data
        self.ws.receive_data(data or None)
        self.pending.extend(self.ws.events())

    def send(self, message: str | bytes) -> None:
        try:
            event: wsproto.events.Event = (
                wsproto.events.TextMessage(data=message)
                if isinstance(message, str)
                else wsproto.events.BytesMessage(data=message)
            )
            self.sock.sendall(self.ws.send(event))
        except _WSPROTO as exc:
            raise failure(exc, "wsproto") from exc

    def receive(self, timeout: float) -> str | bytes:
        if self.ended is not None:
            raise self.ended
        deadline = time.monotonic() + timeout
        try:
            while True:
                while self.pending:
                    message = self._handle(self.pending.popleft())
                    if message is not None:
                        return message
                    if self.ended is not None:
                        raise self.ended
                if self.eof:
                    self.ended = ClientFailure("EOF", "the server closed TCP")
                    raise self.ended
                self._feed(deadline)
        except _WSPROTO as exc:
            if isinstance(exc, TimeoutError):
                raise
            raise failure(exc, "wsproto") from exc

    def _handle(self, event: wsproto.events.Event) -> str | bytes | None:
        if isinstance(event, wsproto.events.Message):
            self.parts.append(event.data)
            if not event.message_finished:
                return None
            parts, self.parts = self.parts, []
            if isinstance(event, wsproto.events.TextMessage):
                return "".join(p for p in parts if isinstance(p, str))
            return b"".join(p for p in parts if isinstance(p, bytes))
        if isinstance(event, wsproto.events.Ping):
            self.sock.sendall(self.ws.send(event.response()))
        elif isinstance(event, wsproto.events.CloseConnection):
            # REMOTE_CLOSING: the server's close frame; OPEN: wsproto failed a frame and asks
            # the application to close with the event's code.
            if self.ws.state in (ConnectionState.REMOTE_CLOSING, ConnectionState.OPEN):
                self.sock.sendall(self.ws.send(event.response()))
            self.ended = ClientFailure(
                f"CloseConnection({event.code})", f"close {event.code} {event.reason or ''}"
            )
        return None

    def close(self) -> None:
        try:
            if self.ws.state is ConnectionState.OPEN:
                self.sock.sendall(self.ws.send(wsproto.events.CloseConnection(code=1000)))
            deadline = time.monotonic() + self.timeout
            while not self.eof:
                self._feed(deadline)
                for event in self.pending:
                    if isinstance(event, wsproto.events.CloseConnection) and (
                        self.ws.state is ConnectionState.REMOTE_CLOSING
                    ):
                        self.sock.sendall(self.ws.send(event.response()))
                self.pending.clear()
        except _WSPROTO as exc:
            if not isinstance(exc, TimeoutError):
                raise failure(exc, "wsproto") from exc
        finally:
            self.sock.close()


class Wsproto:
    """wsproto over a raw socket: a ``RejectConnection`` event is a refusal with its status,
    ``RemoteProtocolError`` (and any socket error) a refusal without one, EOF before any event
    ``EOF``."""

    name = "wsproto"
    failures: tuple[type[BaseException], ...] = (ClientFailure,)

    def connect(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None,
        ca_path: str | None,
        subprotocols: Sequence[str],
        timeout: float,
    ) -> WsprotoSession:
        host, port, target = _split(url)
        deadline = time.monotonic() + timeout
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise failure(exc, "wsproto") from exc
        try:
            if ssl is not None:
                sock = ssl.wrap_socket(sock, server_hostname=host)
            ws = WSConnection(ConnectionType.CLIENT)
            session = WsprotoSession(sock, ws, None, timeout)
            request = wsproto.events.Request(
                host=f"{host}:{port}", target=target, subprotocols=list(subprotocols)
            )
            sock.sendall(ws.send(request))
            while True:
                while session.pending:
                    event = session.pending.popleft()
                    if isinstance(event, wsproto.events.RejectConnection):
                        raise ClientFailure(
                            f"RejectConnection (status {event.status_code})", "rejected"
                        )
                    if isinstance(event, wsproto.events.AcceptConnection):
                        session.subprotocol = event.subprotocol
                        return session
                if session.eof:
                    raise ClientFailure("EOF", "the server closed TCP before answering")
                session._feed(deadline)
        except BaseException as exc:
            sock.close()
            if isinstance(exc, _WSPROTO):
                raise failure(exc, "wsproto") from exc
            raise
