"""Drives one connection in the server thread: TLS, opening handshake, frames, closing handshake.

Theory of operation. A connection goes through four states, and ``_Driver.state`` is the only
place that says which one it is in:

    HANDSHAKE  reading the request and writing the response
    OPEN       frames flow both ways; a reader task parses client frames and records them,
               a handler task (if any) gets the client's messages and sends its own
    CLOSING    a close frame was sent or received, waiting for the other side's one or for TCP
    CLOSED     TCP is closed on our side; the record is final

The reader answers pings with pongs and a close frame with a close frame, then closes TCP first
(RFC 6455 section 7.1.1: the server closes the TCP connection). When the client breaks the
protocol, the violation is recorded and the connection is failed with the close code the RFC
asks for (section 7.1.7). Every wait is bounded by the server's options.
"""

from __future__ import annotations

import contextlib
import enum
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream

from ._connection import Connection
from ._errors import ConnectionClosed
from ._protocol import (
    CloseEvent,
    FrameDecoder,
    Headers,
    MessageAssembler,
    MessageEvent,
    Opcode,
    PerMessageDeflate,
    PingEvent,
    PongEvent,
    Request,
    RequestParser,
    Violation,
    accept_headers,
    build_close_payload,
    build_response,
    check_request,
    encode_frame,
    negotiate_deflate,
    reason_phrase,
)
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message, TcpEnd

if TYPE_CHECKING:
    from ._server import MockServer

Handler = Callable[["WebSocket"], Awaitable[Any]]

_RECEIVE_SIZE = 65536


class State(enum.Enum):
    """Where a connection is in its life."""

    HANDSHAKE = "handshake"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class _Driver:
    def __init__(
        self,
        server: MockServer,
        stream: ByteStream,
        conn: Connection,
        handler: Handler | None,
    ) -> None:
        self.server = server
        self.options = server.options
        self.stream = stream
        self.conn = conn
        self.handler = handler
        self.state = State.HANDSHAKE
        self.deflate: PerMessageDeflate | None = None
        self.write_lock = anyio.Lock()
        send, receive = anyio.create_memory_object_stream[Message](max_buffer_size=float("inf"))
        self.inbox_send = send
        self.inbox = receive
        # The closing handshake, as it happened.
        self.initiator: Direction | None = None
        self.client_close: tuple[int | None, str] | None = None
        self.server_close: tuple[int | None, str] | None = None
        self.tcp_closed_by: Direction | None = None
        self.tcp_end: TcpEnd = "fin"
        self.read_scope = anyio.CancelScope()
        self.client_close_received = anyio.Event()

    # -- the whole life -----------------------------------------------------------------------

    async def run(self) -> None:
        try:
            if self.options.tls and not await self._tls_handshake():
                return
            trailing = await self._opening_handshake()
            if trailing is None:
                return
            self.state = State.OPEN
            async with anyio.create_task_group() as tg:
                if self.handler is not None:
                    tg.start_soon(self._run_handler, self.handler)
                await self._read_frames(trailing)
                self.inbox_send.close()
        except Exception as exc:  # a bug of ours must fail the test, not vanish
            self.server._record_error(self.conn.label, exc)
        finally:
            with anyio.CancelScope(shield=True):
                await self._close_tcp(by=Direction.SERVER)
                self._finish()

    async def _tls_handshake(self) -> bool:
        context = self.server._tls_server_context()
        try:
            with anyio.fail_after(self.options.handshake_timeout):
                self.stream = await TLSStream.wrap(
                    self.stream, server_side=True, ssl_context=context, standard_compatible=False
                )
        except (ssl.SSLError, OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            cause = exc.__cause__ or exc
            self.conn._update(lambda: setattr(self.conn, "_tls_error", f"{cause}"))
            return False
        except TimeoutError:
            self.conn._update(
                lambda: setattr(
                    self.conn,
                    "_tls_error",
                    f"the client did not finish the TLS handshake within "
                    f"{self.options.handshake_timeout} s",
                )
            )
            return False
        return True

    # -- opening handshake ----------------------------------------------------------------------

    async def _opening_handshake(self) -> bytes | None:
        """Read the request and answer it; the bytes after the request head, or None if failed."""
        parser = RequestParser(max_head=self.options.max_header_size)
        result: Request | Violation | None = None
        with anyio.move_on_after(self.options.handshake_timeout):
            while result is None:
                try:
                    data = await self.stream.receive(_RECEIVE_SIZE)
                except (anyio.EndOfStream, anyio.BrokenResourceError) as exc:
                    reset = isinstance(exc, anyio.BrokenResourceError)
                    self._note(
                        "the client closed TCP before sending a complete handshake request"
                        + (" (reset)" if reset else "")
                    )
                    self.tcp_closed_by = Direction.CLIENT
                    self.tcp_end = "rst" if reset else "fin"
                    return None
                result = parser.feed(data)
        if result is None:
            self._note(
                f"no complete handshake request within {self.options.handshake_timeout} s "
                f"(handshake_timeout); the server closed the connection"
            )
            return None
        if isinstance(result, Violation):
            self.conn._record_violation(result)
            await self._reject(result.status or 400, [result])
            return None
        request = result
        self.conn._update(lambda: setattr(self.conn, "_request", request))
        violations = check_request(request)
        if violations:
            for violation in violations:
                self.conn._record_violation(violation)
            status = 426 if any(v.status == 426 for v in violations) else 400
            await self._reject(status, violations)
            return None
        await self._accept(request)
        return parser.trailing

    async def _accept(self, request: Request) -> None:
        assert request.key is not None  # check_request made sure
        subprotocol = next(
            (p for p in request.subprotocols if p in self.options.subprotocols), None
        )
        extensions = None
        if self.options.deflate:
            params = negotiate_deflate(request.extensions)
            if params is not None:
                self.deflate = PerMessageDeflate(params)
                extensions = params.header_value()
        headers = accept_headers(request.key, subprotocol=subprotocol, extensions=extensions)
        await self._send_response(101, headers, b"")

        def record() -> None:
            self.conn._subprotocol = subprotocol
            self.conn._extensions = extensions

        self.conn._update(record)

    async def _reject(self, status: int, violations: list[Violation]) -> None:
        body = "".join(f"{v}\n" for v in violations).encode()
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
        if status == 426:
            # RFC 6455 section 4.4: tell the client which versions we speak.
            headers.append(("Sec-WebSocket-Version", "13"))
        await self._send_response(status, headers, body)
        await self._drain_until_eof()

    async def _send_response(
        self, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        reason = reason_phrase(status)
        raw = build_response(status, reason, headers, body)
        await self.stream.send(raw)
        response = HandshakeResponse(status, reason, _written_headers(raw), body, raw)
        self.conn._update(lambda: setattr(self.conn, "_response", response))

    # -- frames ---------------------------------------------------------------------------------

    async def _read_frames(self, trailing: bytes) -> None:
        decoder = FrameDecoder(max_frame_size=self.options.max_message_size)
        assembler = MessageAssembler(
            require_masked=True,
            max_message_size=self.options.max_message_size,
            deflate=self.deflate,
        )
        data = trailing
        with self.read_scope:
            while True:
                if data:
                    for item in decoder.feed(data):
                        if isinstance(item, Violation):
                            if await self._client_violation(item):
                                return
                            continue
                        now = time.monotonic()
                        self.conn._record_frame(
                            Frame(
                                Direction.CLIENT,
                                item.opcode,
                                item.fin,
                                item.rsv1,
                                item.rsv2,
                                item.rsv3,
                                item.masked,
                                item.mask_key,
                                item.payload,
                                item.header,
                                now,
                            )
                        )
                        for event in assembler.receive(item):
                            if await self._on_event(event, now):
                                return
                try:
                    data = await self.stream.receive(_RECEIVE_SIZE)
                except anyio.EndOfStream:
                    self._client_closed_tcp("fin")
                    return
                except anyio.BrokenResourceError:
                    self._client_closed_tcp("rst")
                    return

    def _client_closed_tcp(self, how: TcpEnd) -> None:
        if self.tcp_closed_by is None:
            self.tcp_closed_by = Direction.CLIENT
            self.tcp_end = how

    async def _on_event(self, event: object, now: float) -> bool:
        """Act on one event from the assembler; True when the connection is over."""
        if isinstance(event, MessageEvent):
            message = Message(
                Direction.CLIENT, event.opcode, event.data, event.compressed, event.frames, now
            )
            self.conn._record_message(message)
            if self.handler is not None:
                self.inbox_send.send_nowait(message)
        elif isinstance(event, PingEvent):
            self.conn._update(lambda: self.conn._pings.append(event.payload))
            if self.server_close is None:
                await self.send_frame(Opcode.PONG, event.payload)
        elif isinstance(event, PongEvent):
            self.conn._update(lambda: self.conn._pongs.append(event.payload))
        elif isinstance(event, CloseEvent):
            await self._on_client_close(event)
            return True
        elif isinstance(event, Violation):
            return await self._client_violation(event)
        return False

    async def _on_client_close(self, event: CloseEvent) -> None:
        self.client_close = (event.code, event.reason)
        self.client_close_received.set()
        if self.initiator is None:
            self.initiator = Direction.CLIENT
        self.state = State.CLOSING
        if self.server_close is None:
            # RFC 6455 section 5.5.1: answer with a close frame, echoing the status code.
            await self._send_close(event.code, "")
        await self._close_tcp(by=Direction.SERVER)

    async def _client_violation(self, violation: Violation) -> bool:
        """Record a rule the client broke; True when it ended the connection."""
        self.conn._record_violation(violation)
        if not violation.fatal:
            return False
        # RFC 6455 section 7.1.7: fail the connection, with the close code the rule names.
        if self.server_close is None:
            if self.initiator is None:
                self.initiator = Direction.SERVER
            await self._send_close(violation.close_code or 1002, violation.kind[:100])
        self.state = State.CLOSING
        await self._drain_until_eof()
        return True

    async def _drain_until_eof(self) -> None:
        """Read and drop bytes until the client closes TCP or close_timeout passes.

        Closing a socket with unread bytes in its buffer makes the kernel send RST, which would
        hide our close frame or response from the client; draining first gives it a clean FIN.
        """
        with anyio.move_on_after(self.options.close_timeout):
            try:
                while True:
                    await self.stream.receive(_RECEIVE_SIZE)
            except anyio.EndOfStream:
                self._client_closed_tcp("fin")
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._client_closed_tcp("rst")
        await self._close_tcp(by=Direction.SERVER)

    # -- writing --------------------------------------------------------------------------------

    async def send_frame(
        self,
        opcode: int,
        payload: bytes,
        *,
        fin: bool = True,
        rsv1: bool = False,
        message: Message | None = None,
    ) -> None:
        """Write one unmasked frame and record it (and the message it completes, if any)."""
        data = encode_frame(opcode, payload, fin=fin, rsv1=rsv1)
        async with self.write_lock:
            if self.state is State.CLOSED:
                raise ConnectionClosed(
                    f"cannot send {Opcode(opcode).name} on {self.conn.label}: it has closed",
                    *(self.client_close or (None, "")),
                )
            try:
                await self.stream.send(data)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                raise ConnectionClosed(
                    f"cannot send {Opcode(opcode).name} on {self.conn.label}: "
                    f"the connection broke ({exc!r})"
                ) from exc
            now = time.monotonic()
            header = data[: len(data) - len(payload)]
            frame = Frame(
                Direction.SERVER, opcode, fin, rsv1, False, False, False, None, payload, header, now
            )
            self.conn._record_frame(frame)
            if message is not None:
                self.conn._record_message(
                    Message(
                        Direction.SERVER,
                        message.opcode,
                        message.data,
                        message.compressed,
                        message.frames,
                        now,
                    )
                )

    async def send_message(self, opcode: Opcode, data: bytes, compress: bool | None) -> None:
        use_deflate = self.deflate is not None and compress is not False
        payload = data
        if use_deflate:
            assert self.deflate is not None
            async with self.write_lock:  # keep the compression context in wire order
                payload = self.deflate.compress(data)
        message = Message(Direction.SERVER, opcode, data, use_deflate, 1, 0.0)
        await self.send_frame(opcode, payload, rsv1=use_deflate, message=message)

    async def _send_close(self, code: int | None, reason: str) -> None:
        self.server_close = (code, reason)
        await self.send_frame(Opcode.CLOSE, build_close_payload(code, reason))

    async def close(self, code: int | None, reason: str) -> None:
        """Start (or finish) the closing handshake from the server's side."""
        if self.state is State.CLOSED or self.server_close is not None:
            return
        if self.initiator is None:
            self.initiator = Direction.SERVER
        self.state = State.CLOSING
        await self._send_close(code, reason)
        with anyio.move_on_after(self.options.close_timeout):
            await self.client_close_received.wait()
        if not self.client_close_received.is_set():
            self._note(
                f"the client did not answer the server's close frame within "
                f"{self.options.close_timeout} s (close_timeout); the server closed TCP"
            )
        await self._close_tcp(by=Direction.SERVER)

    async def _close_tcp(self, *, by: Direction) -> None:
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        if self.tcp_closed_by is None:
            self.tcp_closed_by = by
        self.read_scope.cancel()
        self.inbox_send.close()
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(OSError, anyio.BrokenResourceError):
                await self.stream.aclose()

    def _finish(self) -> None:
        info = None
        if self.conn._request is not None and self.conn.accepted:
            client = self.client_close or (None, "")
            server = self.server_close or (None, "")
            info = CloseInfo(
                initiator=self.initiator,
                client_sent=self.client_close is not None,
                client_code=client[0],
                client_reason=client[1],
                server_sent=self.server_close is not None,
                server_code=server[0],
                server_reason=server[1],
                tcp_closed_by=self.tcp_closed_by or Direction.SERVER,
                tcp_end=self.tcp_end,
            )

        def finish() -> None:
            self.conn._close = info or CloseInfo(
                None,
                False,
                None,
                "",
                False,
                None,
                "",
                self.tcp_closed_by or Direction.SERVER,
                self.tcp_end,
            )
            self.conn._ended = True

        self.conn._update(finish)

    def _note(self, text: str) -> None:
        self.conn._update(lambda: self.conn._notes.append(text))

    # -- the handler ------------------------------------------------------------------------------

    async def _run_handler(self, handler: Handler) -> None:
        websocket = WebSocket(self)
        try:
            await handler(websocket)
        except ConnectionClosed:
            pass  # the client went away; the record shows how
        except Exception as exc:
            self.server._record_error(
                f"handler {getattr(handler, '__name__', handler)!s} on {self.conn.label}", exc
            )
            await self.close(1011, "handler error")
            return
        await self.close(1000, "")


class WebSocket:
    """The server's side of one connection, as a handler sees it.

    A handler is an ``async`` function that takes this object; register it with
    :meth:`MockServer.handler`. It runs in the server thread, on the server's event loop.
    """

    def __init__(self, driver: _Driver) -> None:
        self._driver = driver

    @property
    def connection(self) -> Connection:
        """The record of this connection (what the test sees)."""
        return self._driver.conn

    @property
    def request(self) -> Request:
        """The opening-handshake request."""
        request = self._driver.conn.request
        assert request is not None
        return request

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server selected, if any."""
        return self._driver.conn.subprotocol

    async def receive(self, timeout: float | None = None) -> Message:
        """Wait for the client's next data message.

        Args:
            timeout: seconds to wait; the server's ``timeout`` option by default.

        Raises:
            ConnectionClosed: the connection ended before a message came.
            TimeoutError: no message came in time.
        """
        limit = self._driver.options.timeout if timeout is None else timeout
        try:
            with anyio.fail_after(limit):
                return await self._driver.inbox.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            code, reason = self._driver.client_close or (None, "")
            raise ConnectionClosed(
                f"{self._driver.conn.label} has closed", code=code, reason=reason
            ) from None
        except TimeoutError:
            raise TimeoutError(
                f"handler waited {limit} s for a message from the client on "
                f"{self._driver.conn.label}; none came ({self._driver.conn.describe()})"
            ) from None

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self._driver.inbox.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def send_text(self, text: str, *, compress: bool | None = None) -> None:
        """Send a text message (compressed when permessage-deflate was negotiated, unless
        ``compress=False``)."""
        await self._driver.send_message(Opcode.TEXT, text.encode("utf-8"), compress)

    async def send_binary(self, data: bytes, *, compress: bool | None = None) -> None:
        """Send a binary message."""
        await self._driver.send_message(Opcode.BINARY, bytes(data), compress)

    async def send(self, message: str | bytes | Message) -> None:
        """Send ``str`` as text, ``bytes`` as binary, or a :class:`Message` as it was."""
        if isinstance(message, Message):
            await self._driver.send_message(message.opcode, message.data, None)
        elif isinstance(message, str):
            await self.send_text(message)
        else:
            await self.send_binary(message)

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping frame."""
        await self._driver.send_frame(Opcode.PING, payload)

    async def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Run the closing handshake: send a close frame, wait for the client's, close TCP."""
        await self._driver.close(code, reason)


def _written_headers(raw: bytes) -> Headers:
    """The headers of a response we built, read back from its bytes: what was really written."""
    head = raw.partition(b"\r\n\r\n")[0]
    items = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        items.append((name, value.strip()))
    return Headers(items)
