"""One interface over every client of the integration scenarios, and the sync clients behind it.

A scenario opens a connection with ``client.open(url, options)`` and talks to it through a
:class:`Conn`: ``send``, ``receive`` and the few things that go beyond the conformance kit's
``Session`` (a ping that waits for its pong, a close with a code, meeting the server's close,
fragments). Each client does them with its own API; what the client then *reports* is
returned, so that the scenario, not the client's code, holds the assertion. What differs
between clients is data: :class:`Traits`, in ``_table.py``.

This module holds the sync clients (websockets' threading client, websocket-client, httpx-ws
on ``httpx.Client``); ``_wsproto.py`` wsproto over a blocking socket, ``_aclients.py`` the
async ones.
"""

from __future__ import annotations

import ssl as _ssl
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import pytest
import websocket
from httpx_ws import WebSocketDisconnect, WebSocketSession, connect_ws
from websocket import ABNF
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as sync_connect
from websockets.typing import Origin, Subprotocol
from wsproto.events import BytesMessage, Event, TextMessage

from ._support import TIMEOUT

#: The largest message a scenario sends (1 MiB), with room: every client's limit is set above.
MAX_SIZE = 2**21


@dataclass(frozen=True)
class Options:
    """What a scenario asks of a connection; every client maps it onto its own API."""

    #: A client TLS context (``client_ssl_context()``) for a ``wss://`` URL.
    ssl: _ssl.SSLContext | None = None
    #: Or the CA file to trust, given to the client the way its documentation shows.
    ca_path: str | None = None
    subprotocols: Sequence[str] = ()
    #: Offer permessage-deflate (only clients whose ``Traits.deflate`` is set can).
    deflate: bool = False
    origin: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: aiohttp only: ``autoping=False`` hands pings and pongs to the caller.
    autoping: bool = True


class Conn(Protocol):
    """An open connection, whatever the client."""

    #: The subprotocol the client says was selected.
    subprotocol: str | None
    #: The extensions the client says were negotiated (names).
    extensions: list[str]

    def send(self, data: str | bytes) -> None: ...

    def receive(self) -> str | bytes:
        """The next data message (a control frame or a close here fails the test)."""

    def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        """Send one message in ``len(chunks)`` frames (``Traits.fragments`` says how)."""

    def ping(self, payload: bytes) -> None:
        """Ping and wait (bounded) until the client says the pong came."""

    def answer_ping(self) -> bytes:
        """For a client that does not pong by itself: read the server's ping, answer it;
        its payload."""

    def close(self, code: int, reason: str) -> int | None:
        """Run the closing handshake with ``code``/``reason``; the close code the client then
        reports, ``None`` if it reports none."""

    def server_close(self) -> tuple[int, str]:
        """Read until the server's close frame, let the client answer it; the code and reason
        the client reports."""


class Client(Protocol):
    """Opens connections; its ``open`` closes the connection at exit if still open."""

    def open(self, url: str, options: Options) -> AbstractContextManager[Conn]: ...


def parse_close(payload: bytes) -> tuple[int, str]:
    """The code and reason of a close frame's payload."""
    (code,) = struct.unpack("!H", payload[:2])
    return code, payload[2:].decode()


def fragment_events(chunks: Sequence[str | bytes]) -> list[Event]:
    """wsproto events carrying ``chunks`` as one message (``message_finished`` on the last)."""
    last = len(chunks) - 1
    return [message_event(chunk, finished=i == last) for i, chunk in enumerate(chunks)]


def message_event(data: str | bytes, *, finished: bool = True) -> Event:
    """A wsproto data event carrying ``data`` (text for ``str``, binary for ``bytes``)."""
    if isinstance(data, str):
        return TextMessage(data=data, message_finished=finished)
    return BytesMessage(data=data, message_finished=finished)


def ca_context(options: Options) -> _ssl.SSLContext | None:
    """The TLS context of ``options``: the given one, or a default one trusting ``ca_path``."""
    if options.ca_path is not None:
        return _ssl.create_default_context(cafile=options.ca_path)
    return options.ssl


def _no_deflate(name: str, options: Options) -> None:
    """The scenarios skip deflate for a client without it (``Traits.deflate``)."""
    assert not options.deflate, f"{name} offers no permessage-deflate"


# -- websockets (threading) -----------------------------------------------------------------


def websockets_options(options: Options) -> dict[str, Any]:
    """websockets' ``connect`` arguments (the asyncio and threading clients share them)."""
    kwargs: dict[str, Any] = {
        "open_timeout": TIMEOUT,
        "close_timeout": TIMEOUT,
        "ping_interval": None,  # no keepalive pings in the record
        "proxy": None,
        "max_size": MAX_SIZE,
        "subprotocols": [Subprotocol(p) for p in options.subprotocols] or None,
        "compression": "deflate" if options.deflate else None,
        "origin": Origin(options.origin) if options.origin else None,
    }
    context = ca_context(options)
    if context is not None:  # else websockets' default context for a wss:// URL
        kwargs["ssl"] = context
    headers = dict(options.headers)
    if "User-Agent" in headers:
        kwargs["user_agent_header"] = headers.pop("User-Agent")
    kwargs["additional_headers"] = headers
    return kwargs


class _WebsocketsSyncConn:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self.extensions: list[str] = [e.name for e in ws.protocol.extensions]

    def send(self, data: str | bytes) -> None:
        self.ws.send(data)

    def receive(self) -> str | bytes:
        return self.ws.recv(timeout=TIMEOUT)

    def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        self.ws.send(chunks)

    def ping(self, payload: bytes) -> None:
        assert self.ws.ping(payload).wait(TIMEOUT)

    def answer_ping(self) -> bytes:
        raise AssertionError("websockets answers pings by itself")

    def close(self, code: int, reason: str) -> int | None:
        self.ws.close(code, reason)
        return self.ws.close_code

    def server_close(self) -> tuple[int, str]:
        with pytest.raises(ConnectionClosedError) as excinfo:
            self.ws.recv(timeout=TIMEOUT)
        return websockets_closed(excinfo.value, self.ws.close_code, self.ws.close_reason)


def websockets_closed(
    closed: ConnectionClosedError, code: int | None, reason: str | None
) -> tuple[int, str]:
    """What websockets reports of a close the server started: the frame received, echoed."""
    assert closed.rcvd is not None
    assert closed.sent is not None
    assert closed.sent.code == closed.rcvd.code
    assert closed.rcvd_then_sent is True
    assert (code, reason) == (closed.rcvd.code, closed.rcvd.reason)
    return closed.rcvd.code, closed.rcvd.reason


class WebsocketsSync:
    """websockets' threading client (``websockets.sync.client.connect``)."""

    @contextmanager
    def open(self, url: str, options: Options) -> Iterator[Conn]:
        with sync_connect(url, **websockets_options(options)) as ws:
            yield _WebsocketsSyncConn(ws)


# -- websocket-client -----------------------------------------------------------------------


class _WebsocketClientConn:
    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.subprotocol: str | None = ws.getsubprotocol()
        self.extensions: list[str] = []

    def send(self, data: str | bytes) -> None:
        if isinstance(data, str):
            self.ws.send(data)
        else:
            self.ws.send_binary(data)

    def receive(self) -> str | bytes:
        """The next data message, checked to be text or binary (recv() returns "" on a close)."""
        opcode, data = self.ws.recv_data()
        assert opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY), (opcode, data)
        return data.decode("utf-8") if opcode == ABNF.OPCODE_TEXT else bytes(data)

    def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        first = ABNF.OPCODE_TEXT if isinstance(chunks[0], str) else ABNF.OPCODE_BINARY
        last = len(chunks) - 1
        for i, chunk in enumerate(chunks):
            raw = chunk.encode() if isinstance(chunk, str) else chunk
            opcode = first if i == 0 else ABNF.OPCODE_CONT
            self.ws.send_frame(ABNF.create_frame(raw, opcode, fin=int(i == last)))

    def ping(self, payload: bytes) -> None:
        self.ws.ping(payload)
        assert self.ws.recv_data(control_frame=True) == (ABNF.OPCODE_PONG, payload)

    def answer_ping(self) -> bytes:
        raise AssertionError("websocket-client answers pings by itself")

    def close(self, code: int, reason: str) -> int | None:
        self.ws.close(status=code, reason=reason.encode(), timeout=TIMEOUT)
        assert not self.ws.connected
        return None

    def server_close(self) -> tuple[int, str]:
        opcode, frame = self.ws.recv_data_frame(control_frame=True)
        assert opcode == ABNF.OPCODE_CLOSE
        return parse_close(frame.data)


class WebsocketClient:
    """websocket-client (``websocket.create_connection``), every socket operation bounded."""

    @contextmanager
    def open(self, url: str, options: Options) -> Iterator[Conn]:
        """After answering a server's close frame, websocket-client marks itself disconnected
        but leaves its socket open, so the socket is shut down explicitly."""
        _no_deflate("websocket-client", options)
        kwargs: dict[str, Any] = {"header": dict(options.headers)}
        if options.ca_path is not None:
            kwargs["sslopt"] = {"ca_certs": options.ca_path}
        elif options.ssl is not None:
            kwargs["sslopt"] = {"context": options.ssl}
        if options.subprotocols:
            kwargs["subprotocols"] = list(options.subprotocols)
        if options.origin is not None:
            kwargs["origin"] = options.origin
        ws = websocket.create_connection(url, timeout=TIMEOUT, **kwargs)
        try:
            yield _WebsocketClientConn(ws)
        finally:
            if ws.connected:
                ws.close(timeout=TIMEOUT)
            ws.shutdown()  # type: ignore[no-untyped-call]


# -- httpx-ws (sync) ------------------------------------------------------------------------

#: httpx-ws's session options: its default message limit, 64 KiB, is below the largest case.
HTTPX_WS_OPTIONS: dict[str, Any] = {
    "max_message_size_bytes": MAX_SIZE,
    "keepalive_ping_interval_seconds": None,  # no keepalive pings in the record
}


def httpx_options(options: Options) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``httpx.Client`` and the ``connect_ws`` arguments (sync and async alike)."""
    _no_deflate("httpx-ws", options)
    context = ca_context(options)
    client = {"timeout": TIMEOUT, "trust_env": False, "verify": context or True}
    headers = dict(options.headers)
    if options.origin is not None:
        headers["Origin"] = options.origin
    session: dict[str, Any] = {**HTTPX_WS_OPTIONS, "headers": headers}
    if options.subprotocols:
        session["subprotocols"] = list(options.subprotocols)
    return client, session


def httpx_event_data(event: Event) -> str | bytes:
    """The data of a whole text or binary message event."""
    assert isinstance(event, (TextMessage, BytesMessage)), event
    return event.data if isinstance(event, TextMessage) else bytes(event.data)


class _HttpxWsConn:
    def __init__(self, ws: WebSocketSession) -> None:
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self.extensions: list[str] = []

    def send(self, data: str | bytes) -> None:
        if isinstance(data, str):
            self.ws.send_text(data)
        else:
            self.ws.send_bytes(data)

    def receive(self) -> str | bytes:
        return httpx_event_data(self.ws.receive(timeout=TIMEOUT))

    def send_fragments(self, chunks: Sequence[str | bytes]) -> None:
        for event in fragment_events(chunks):
            self.ws.send(event)

    def ping(self, payload: bytes) -> None:
        assert self.ws.ping(payload).wait(TIMEOUT)

    def answer_ping(self) -> bytes:
        raise AssertionError("httpx-ws answers pings by itself")

    def close(self, code: int, reason: str) -> int | None:
        self.ws.close(code, reason)
        return None

    def server_close(self) -> tuple[int, str]:
        with pytest.raises(WebSocketDisconnect) as excinfo:
            self.ws.receive(timeout=TIMEOUT)
        return excinfo.value.code, excinfo.value.reason


class HttpxWsSync:
    """httpx-ws's ``connect_ws`` on an ``httpx.Client``."""

    @contextmanager
    def open(self, url: str, options: Options) -> Iterator[Conn]:
        client_options, session_options = httpx_options(options)
        with (
            httpx.Client(**client_options) as client,
            connect_ws(url, client, **session_options) as ws,
        ):
            yield _HttpxWsConn(ws)
