"""Drives one connection in the server thread: TLS, opening handshake, frames, closing handshake.

Theory of operation. A connection goes through these states, and ``_Driver.state`` is the only
place that says which one it is in:

    HANDSHAKE  reading the request and carrying out the handshake outcome
    OPEN       frames flow both ways: the reader task parses client frames and records them,
               a handler task (if any) gets the client's messages and sends its own
    CLOSING    the server sent a close frame and waits for the client's one
    DRAINING   the server shut down its side of TCP (FIN) and reads until the client's FIN
    CLOSED     TCP is closed on our side; the record is final

The reader answers pings with pongs and a close frame with a close frame, then shuts down TCP
first (RFC 6455 section 7.1.1: the server closes the TCP connection first) and reads on until
the client's FIN, so that no byte it sent goes unrecorded and no unread byte turns our close
into an RST. When the client breaks the protocol, the violation is recorded and the connection
is failed with the close code the RFC asks for (section 7.1.7). Every wait is bounded: the
reader's cancel scope gets a deadline (``close_timeout``) as soon as the server stops waiting
for frames, and the server's teardown cancels everything else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import ssl
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import ByteStream, SocketAttribute
from anyio.streams.tls import TLSStream

from ._connection import Connection
from ._errors import ConfigError, ConnectionClosed
from ._faults import Fault
from ._handlers import echo
from ._handshakes import Handshake
from ._protocol import (
    CloseEvent,
    DeflateParams,
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
    build_close_payload,
    build_response,
    check_request,
    negotiate_deflate,
    opcode_name,
    parse_extensions,
    reason_phrase,
)
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message, TcpEnd
from ._state import CAN_SEND, State
from ._websocket import Inbox, OutFrame, WebSocket

if TYPE_CHECKING:
    from ._server import MockServer

Handler = Callable[[WebSocket], Awaitable[Any]]

_RECEIVE_SIZE = 65536


def _client_rule(kind: str, detail: str, rfc: str) -> Violation:
    """A rule the client broke that the server records without failing the connection."""
    return Violation(kind, detail, rfc, close_code=None, status=None, fatal=False)


class _Driver:
    def __init__(
        self,
        server: MockServer,
        stream: ByteStream,
        conn: Connection,
        handler: Handler | None,
        outcome: Handshake,
    ) -> None:
        self.server = server
        self.options = server.options
        self.socket_stream = stream
        self.stream = stream
        self.conn = conn
        conn._driver = self
        self.handler = handler
        self.outcome = outcome
        self.state = State.HANDSHAKE
        self.deflate: PerMessageDeflate | None = None
        # fast_acquire: no trip through the event loop when the lock is free (nearly always).
        self.write_lock = anyio.Lock(fast_acquire=True)
        # The client's messages, and its pings and pongs, for handlers and scripts.
        self.inbox: Inbox[Message] = Inbox()
        self.controls: Inbox[Frame] = Inbox()
        # Payloads of the pings the server sent that the client has not answered yet.
        self.outstanding_pings: list[tuple[bytes, float]] = []
        # Pongs that answered none of them (heartbeats, or wrong answers), with their times.
        self.stray_pongs: list[tuple[bytes, float]] = []
        # Whether to hold the client to the closing handshake: not after a broken handshake
        # answer or a deliberate violation, which a compliant client fails by dropping TCP.
        self.check_closing = True
        # Transport faults in force (see _faults.py): they change how bytes go out and in.
        self.write_delay = 0.0
        self.write_chunks: tuple[int, float] | None = None
        self.split_interval: float | None = None
        self.answer_close = True
        self.close_tcp_after_close = True
        self.reading_allowed = anyio.Event()
        self.reading_allowed.set()
        self.task_group: anyio.abc.TaskGroup | None = None
        self.inline_echo = False
        # Bytes read but not parsed (see _finish): every byte is accounted for in the record.
        self.unparsed = 0
        # The closing handshake, as it happened.
        self.initiator: Direction | None = None
        self.client_close: tuple[int | None, str] | None = None
        self.server_close: tuple[int | None, str] | None = None
        self.tcp_closed_by: Direction | None = None
        self.tcp_end: TcpEnd = "fin"
        self.read_scope = anyio.CancelScope()
        self.reader_done = anyio.Event()

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
                self.task_group = tg
                if self.handler is echo:
                    # The ready-made echo runs inside the reader, message by message: the same
                    # behaviour without a task switch per message (echo is in most tests).
                    self.inline_echo = True
                elif self.handler is not None:
                    tg.start_soon(self._run_handler, self.handler)
                await self._read_frames(trailing)
                self.inbox.close()
        except Exception as exc:  # a bug of ours must fail the test, not vanish
            self.server._record_error(self.conn.label, exc)
        finally:
            with anyio.CancelScope(shield=True):
                await self._abort()
                self._finish()

    async def _tls_handshake(self) -> bool:
        if self.options.tls_fault == "close-during-handshake":
            # Take the client's first TLS bytes (its ClientHello), then close TCP.
            with anyio.move_on_after(self.options.handshake_timeout):
                with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                    await self.stream.receive(_RECEIVE_SIZE)
            self._set_tls_error("tls_fault close-during-handshake: the server closed TCP")
            self._note("tls_fault close-during-handshake: read the ClientHello, closed TCP")
            self._handshake_over()
            return False
        context = self.server._tls_server_context()
        try:
            with anyio.fail_after(self.options.handshake_timeout):
                self.stream = await TLSStream.wrap(
                    self.stream, server_side=True, ssl_context=context, standard_compatible=False
                )
        except (ssl.SSLError, OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            why = str(exc.__cause__ or exc)
            if not why:
                # asyncio clients that refuse the certificate just close, without an alert.
                why = (
                    "the client closed TCP during the TLS handshake without a TLS alert "
                    "(a client that does not accept the server's certificate may do that)"
                )
            self._set_tls_error(why)
            return False
        except TimeoutError:
            self._set_tls_error(
                f"the client did not finish the TLS handshake within "
                f"{self.options.handshake_timeout} s (handshake_timeout)"
            )
            return False
        return True

    def _set_tls_error(self, text: str) -> None:
        def record() -> None:
            self.conn._tls_error = text

        self.conn._update(record)

    # -- opening handshake ----------------------------------------------------------------------

    async def _opening_handshake(self) -> bytes | None:
        """Read the request and carry out the outcome; the bytes after the request head when
        the connection is now open, or None when it is not."""
        outcome = self.outcome
        if outcome.action == "close-before-request":
            self._note("handshake outcome close-before-request: closed TCP before reading")
            self._handshake_over()
            await self._shutdown_and_drain()
            return None
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
                    self._client_closed_tcp("rst" if reset else "fin")
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
        outcome = self._check_origin(request, outcome)
        if not await self._carry_out(request, outcome):
            return None
        return parser.trailing

    def _check_origin(self, request: Request, outcome: Handshake) -> Handshake:
        if outcome.allowed_origins is None:
            return outcome
        allowed = request.origin is not None and request.origin in outcome.allowed_origins
        self.conn._update(lambda: setattr(self.conn, "_origin_allowed", allowed))
        if allowed:
            return outcome
        # RFC 6455 section 4.2.2 and 10.2: refuse an origin we do not trust with 403.
        shown = "no Origin header" if request.origin is None else f"Origin {request.origin!r}"
        return Handshake.reject(
            403, body=f"{shown} is not in the allow-list {list(outcome.allowed_origins)}\n"
        ).named("forbidden-origin")

    async def _carry_out(self, request: Request, outcome: Handshake) -> bool:
        """Write what ``outcome`` says; True when the connection is now open."""
        if outcome.action == "close-after-request":
            self._note("handshake outcome close-after-request: closed TCP (FIN), no response")
            self._handshake_over()
            await self._shutdown_and_drain()
            return False
        if outcome.action == "reset-after-request":
            self._note("handshake outcome reset-after-request: reset TCP (RST), no response")
            self._handshake_over()
            await self._reset()
            return False
        if outcome.action == "never-respond":
            self._note("handshake outcome never-respond: read the request, answered nothing")
            self._handshake_over()
            await self._read_until_eof()
            return False
        if outcome.delay:
            await anyio.sleep(outcome.delay)
        if outcome.action == "garbage":
            await self._write(outcome.garbage, outcome)
            self._note(f"handshake outcome garbage: wrote {outcome.garbage!r}, then closed")
            self._handshake_over()
            await self._shutdown_and_drain()
            return False
        subprotocol = next(
            (p for p in request.subprotocols if p in self.options.subprotocols), None
        )
        params = negotiate_deflate(request.extensions) if self.options.deflate else None
        rendered = outcome.render(
            request,
            auto_subprotocol=subprotocol,
            auto_extensions=params.header_value() if params else None,
            base_url=self.server.url,
        )
        raw = build_response(
            rendered.status,
            rendered.reason,
            rendered.headers,
            rendered.body,
            http_version=rendered.http_version,
        )
        if outcome.truncate_at is not None:
            await self._write(raw[: outcome.truncate_at], outcome)
            self._note(f"wrote {outcome.truncate_at} of {len(raw)} response bytes, then closed")
            self._handshake_over()
            await self._shutdown_and_drain()
            return False
        await self._write(raw, outcome)
        self._record_response(
            rendered.status,
            rendered.reason,
            rendered.body,
            raw,
            subprotocol=rendered.subprotocol,
            extensions=rendered.extensions,
        )
        if rendered.status != 101:
            await self._shutdown_and_drain()
            return False
        self.deflate = _deflate_for(rendered.extensions)
        self.check_closing = outcome.is_correct_for(request)
        return True

    async def _write(self, data: bytes, outcome: Handshake) -> None:
        """Write handshake bytes, in one piece or trickled as the outcome says."""
        if outcome.chunk_size is None:
            await self.stream.send(data)
            return
        for start in range(0, len(data), outcome.chunk_size):
            if start and outcome.chunk_interval:
                await anyio.sleep(outcome.chunk_interval)
            await self.stream.send(data[start : start + outcome.chunk_size])

    async def _reject(self, status: int, violations: list[Violation]) -> None:
        body = "".join(f"{v}\n" for v in violations).encode()
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
        if status == 426:
            # RFC 6455 section 4.4: tell the client which versions we speak.
            headers.append(("Sec-WebSocket-Version", "13"))
        reason = reason_phrase(status)
        raw = build_response(status, reason, headers, body)
        await self.stream.send(raw)
        self._record_response(status, reason, body, raw)
        await self._shutdown_and_drain()

    def _record_response(
        self,
        status: int,
        reason: str,
        body: bytes,
        raw: bytes,
        *,
        subprotocol: str | None = None,
        extensions: str | None = None,
    ) -> None:
        """Record the response just written (and, for a 101, what it negotiated); waits for
        the connection return from here on."""
        response = HandshakeResponse(status, reason, _written_headers(raw), body, raw)

        def record() -> None:
            self.conn._response = response
            if status == 101:
                self.conn._subprotocol = subprotocol
                self.conn._extensions = extensions
            self.conn._handshake_done = True

        self.conn._update(record)

    # -- frames ---------------------------------------------------------------------------------

    async def _read_frames(self, trailing: bytes) -> None:
        decoder = FrameDecoder(max_frame_size=self.options.max_message_size)
        assembler = MessageAssembler(
            require_masked=True,
            max_message_size=self.options.max_message_size,
            deflate=self.deflate,
        )
        data = trailing
        try:
            with self.read_scope:
                while True:
                    if data:
                        try:
                            await self._on_data(data, decoder, assembler)
                        except ConnectionClosed:
                            # An answer of the reader's own (pong, close reply) found the
                            # client gone: it reset or closed the connection under us.
                            self._client_closed_tcp("rst")
                            return
                    if not self.reading_allowed.is_set():
                        await self.reading_allowed.wait()
                    try:
                        data = await self._receive_idle_bounded()
                    except anyio.EndOfStream:
                        self._check_tcp_close("FIN")
                        self._client_closed_tcp("fin")
                        return
                    except anyio.BrokenResourceError:
                        self._check_tcp_close("RST")
                        self._client_closed_tcp("rst")
                        return
                    except ssl.SSLError as exc:
                        self._tls_failed(exc)
                        return
                    except anyio.ClosedResourceError:
                        # We closed the stream ourselves (a fault, a deadline) while this task
                        # was reading: on trio that ends the read before the cancellation does.
                        return
            if self.read_scope.cancelled_caught and self.state is State.CLOSING:
                self._note(
                    f"the client did not answer the server's close frame within "
                    f"{self.options.close_timeout} s (close_timeout); the server closed TCP"
                )
                if self.check_closing:
                    self.conn._record_violation(
                        _client_rule(
                            "no-close-reply",
                            f"the client did not answer the server's close frame within "
                            f"{self.options.close_timeout} s (close_timeout)",
                            "RFC 6455 section 5.5.1",
                        )
                    )
            elif self.read_scope.cancelled_caught and self.state is State.OPEN:
                self._note(
                    f"the server closed TCP {self.options.violation_grace} s after a deliberate "
                    f"violation (violation_grace)"
                )
                await self._abort()
            elif self.read_scope.cancelled_caught and self.state is State.DRAINING:
                self._note(
                    f"the client did not close TCP within {self.options.close_timeout} s "
                    f"(close_timeout) after the server's FIN; the server closed the socket"
                )
        finally:
            self.reader_done.set()

    async def _on_data(
        self, data: bytes, decoder: FrameDecoder, assembler: MessageAssembler
    ) -> None:
        if decoder.failed:
            # After a fatal framing error nothing can be parsed any more (where would the next
            # frame start?): the bytes are counted, and the count is noted at the end.
            self.unparsed += len(data)
            return
        for item in decoder.feed(data):
            if isinstance(item, Violation):
                await self._client_violation(item)
                continue
            now = time.monotonic()
            frame = Frame(
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
            self.conn._record_frame(frame)
            if self.client_close is not None:
                self.conn._record_violation(
                    _client_rule(
                        "data-after-close",
                        f"the client sent a {frame.opcode_name} frame after its close frame",
                        "RFC 6455 section 5.5.1",
                    )
                )
                continue
            for event in assembler.receive(item):
                await self._on_event(event, frame)

    def _tls_failed(self, exc: ssl.SSLError) -> None:
        """A TLS alert or bad record from the client ends the connection like a TCP close.

        After our FIN (we send no close_notify) some TLS clients answer with an alert; that is
        the client closing, not a failure."""
        if self.state is State.DRAINING:
            self._client_closed_tcp("fin")
            return
        self._note(f"TLS error while reading: {exc}")
        self._client_closed_tcp("rst")

    def _check_tcp_close(self, how: str) -> None:
        """A client that closes TCP without the closing handshake breaks RFC 6455 section
        7.1.1 (and 5.5.1): the peer sees an abnormal closure (1006)."""
        if not self.check_closing or self.client_close is not None:
            return
        if self.state is State.OPEN:
            detail = f"the client closed TCP ({how}) without sending a close frame"
        elif self.state is State.CLOSING:
            detail = f"the client closed TCP ({how}) instead of answering the server's close frame"
        else:
            return
        self.conn._record_violation(
            _client_rule("no-closing-handshake", detail, "RFC 6455 sections 5.5.1 and 7.1.1")
        )

    def _client_closed_tcp(self, how: TcpEnd) -> None:
        if self.tcp_closed_by is None:
            self.tcp_closed_by = Direction.CLIENT
            self.tcp_end = how
        elif how == "rst" and self.tcp_end == "fin":
            self.tcp_end = "rst"  # our FIN went out, then the client reset the connection
        if self.state in CAN_SEND:
            # The client is gone: nothing more goes out (a handler's final close included).
            self.state = State.DRAINING
            self.inbox.close()
            self.controls.close()

    async def _on_event(self, event: object, frame: Frame) -> None:
        if isinstance(event, MessageEvent):
            message = Message(
                Direction.CLIENT,
                event.opcode,
                event.data,
                event.compressed,
                event.frames,
                frame.time,
            )
            self.conn._record_message(message)
            if self.inline_echo:
                if self.state is State.OPEN:
                    with contextlib.suppress(ConnectionClosed):
                        await self.send_message(message.opcode, message.data, None)
            elif self.handler is not None:
                self.inbox.put(message)  # ignored once the inbox is closed
        elif isinstance(event, PingEvent):
            self.conn._update(lambda: self.conn._pings.append(event.payload))
            self._to_handler(frame)
            if self.state in CAN_SEND and self.server_close is None:
                await self.send_frames([OutFrame(Opcode.PONG, event.payload)])
        elif isinstance(event, PongEvent):
            self.conn._update(lambda: self.conn._pongs.append(event.payload))
            self._check_pong(event.payload)
            self._to_handler(frame)
        elif isinstance(event, CloseEvent):
            await self._on_client_close(event)
        elif isinstance(event, Violation):
            await self._client_violation(event)

    def _to_handler(self, frame: Frame) -> None:
        if self.handler is not None and self.state is State.OPEN:
            self.controls.put(frame)

    def _check_pong(self, payload: bytes) -> None:
        """Match a pong with the server's pings (RFC 6455 section 5.5.3).

        A pong may answer only the most recent of several pings, so one that echoes any
        outstanding ping settles it and every earlier one. One that echoes none may be an
        unsolicited heartbeat, which is legal; it is kept, and judged when the connection ends
        (see :meth:`_check_unanswered_pings`).
        """
        for index in range(len(self.outstanding_pings) - 1, -1, -1):
            if self.outstanding_pings[index][0] == payload:
                del self.outstanding_pings[: index + 1]
                return
        self.stray_pongs.append((payload, time.monotonic()))

    def _check_unanswered_pings(self) -> None:
        """A ping never echoed, though the client sent a pong after it: a wrong answer."""
        if not self.outstanding_pings:
            return
        ping, sent = self.outstanding_pings[0]
        answers = [pong for pong, at in self.stray_pongs if at >= sent]
        if answers:
            self.conn._record_violation(
                _client_rule(
                    "pong-mismatch",
                    f"the client answered the server's ping {ping!r} with a pong carrying "
                    f"{answers[0]!r}, and no pong ever echoed {ping!r}",
                    "RFC 6455 section 5.5.3",
                )
            )

    async def _on_client_close(self, event: CloseEvent) -> None:
        if self.client_close is not None or self.state not in CAN_SEND:
            return
        self.client_close = (event.code, event.reason)
        if self.initiator is None:
            self.initiator = Direction.CLIENT
        if not self.answer_close and self.server_close is None:
            self._note("fault no-close-reply: took the client's close frame, answered nothing")
            return
        if not self.close_tcp_after_close:
            self._note("fault close-frame-only: got the client's close frame, kept TCP open")
            return
        # Look before answering: a FIN already here was sent before the client could have
        # seen our close frame (httpx-ws does that); one that comes later is fair play.
        client_fin_first = self._peer_fin_pending(after_close_frame=True)
        if self.server_close is None:
            # RFC 6455 section 5.5.1: answer with a close frame, echoing the status code.
            await self._send_close(event.code, "")
        await self._shutdown(client_fin_first=client_fin_first)

    async def _client_violation(self, violation: Violation) -> None:
        self.conn._record_violation(violation)
        if not violation.fatal or self.state not in CAN_SEND:
            return
        # RFC 6455 section 7.1.7: fail the connection, with the close code the rule names.
        if self.server_close is None:
            if self.initiator is None:
                self.initiator = Direction.SERVER
            await self._send_close(violation.close_code or 1002, violation.kind[:100])
        await self._shutdown()

    # -- writing --------------------------------------------------------------------------------

    async def send_frames(
        self,
        frames: Sequence[OutFrame],
        message: Message | None = None,
        *,
        deliberate: bool = False,
    ) -> None:
        """Write frames in order, each recorded as it leaves, and the message they complete.

        ``deliberate`` marks frames that break the protocol on purpose: a compliant client
        may then drop TCP without a closing handshake, so that is no longer held against it.
        """
        async with self.write_lock:
            for frame in frames:
                await self._write_frame(frame, deliberate)
            if message is not None:
                self.conn._record_message(dataclasses.replace(message, time=time.monotonic()))

    async def _write_frame(self, frame: OutFrame, deliberate: bool) -> float:
        """Write and record one frame; return the time it was recorded at."""
        name = opcode_name(frame.opcode)
        if self.state not in CAN_SEND:
            raise ConnectionClosed(
                f"cannot send {name} on {self.conn.label}: it is {self.state.value}",
                *(self.client_close or (None, "")),
            )
        data = frame.encode()
        if deliberate:
            self.check_closing = False
        wire_payload = len(frame.payload)
        # State that the client's answer depends on is set before the bytes leave: on trio the
        # answer can be read (by the reader task) before this write returns.
        if frame.opcode == Opcode.PING and frame.fin and len(frame.payload) <= 125:
            self.outstanding_pings.append((frame.payload, time.monotonic()))
        elif frame.opcode == Opcode.CLOSE and self.server_close is None:
            # A raw close frame counts as the server's close, valid or not: the server must
            # not send a second one (RFC 6455 section 5.5.1).
            payload = frame.payload
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            self.server_close = (code, payload[2:].decode("utf-8", errors="replace"))
            if self.initiator is None:
                self.initiator = Direction.SERVER
        # The frame's time is when it started to leave, so it sorts before the answer.
        now = time.monotonic()
        try:
            await self._send_bytes(data, len(data) - wire_payload)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise ConnectionClosed(
                f"cannot send {name} on {self.conn.label}: the connection broke ({exc!r})"
            ) from exc
        self.conn._record_frame(
            Frame(
                Direction.SERVER,
                frame.opcode,
                frame.fin,
                frame.rsv1,
                frame.rsv2,
                frame.rsv3,
                frame.mask_key is not None,
                frame.mask_key,
                frame.payload,
                data[: len(data) - wire_payload],
                now,
            )
        )
        return now

    async def send_message(
        self,
        opcode: Opcode,
        data: bytes,
        compress: bool | None,
        *,
        fragments: Sequence[int] = (),
        ping_between: bytes | None = None,
    ) -> None:
        """Send a data message, compressed when deflate is on (unless ``compress=False``),
        in one frame or in fragments of the given payload sizes (the rest goes last)."""
        if compress and self.deflate is None:
            raise ConfigError(
                f"compress=True, but permessage-deflate was not negotiated on "
                f"{self.conn.label} (extensions answered: {self.conn.extensions!r}); "
                f"compress=None compresses only when it was"
            )
        use_deflate = self.deflate is not None and compress is not False
        async with self.write_lock:
            # Compress under the lock so the shared compression context follows wire order.
            payload = self.deflate.compress(data) if use_deflate and self.deflate else data
            pieces = _split(payload, fragments)
            frames: list[OutFrame] = []
            for index, piece in enumerate(pieces):
                first, last = index == 0, index == len(pieces) - 1
                frames.append(
                    OutFrame(
                        opcode if first else Opcode.CONTINUATION,
                        piece,
                        fin=last,
                        rsv1=use_deflate and first,
                    )
                )
                if ping_between is not None and not last:
                    frames.append(OutFrame(Opcode.PING, ping_between))
            for frame in frames:
                # The message's time is its last frame's, as for the client's messages.
                now = await self._write_frame(frame, False)
            self.conn._record_message(
                Message(Direction.SERVER, opcode, data, use_deflate, len(pieces), now)
            )

    async def _send_close(self, code: int | None, reason: str) -> None:
        self.server_close = (code, reason)
        await self.send_frames([OutFrame(Opcode.CLOSE, build_close_payload(code, reason))])

    async def close(self, code: int | None, reason: str) -> None:
        """Start the closing handshake from the server's side; return when the reader is done
        (the client answered and TCP is closed, or close_timeout ran out)."""
        if self.state is State.OPEN and self.server_close is None:
            if self.initiator is None:
                self.initiator = Direction.SERVER
            # State first: the client may answer (or drop TCP) before the write returns.
            self.state = State.CLOSING
            # The reader finishes the handshake when the client's close frame comes; if it
            # does not come in time, the reader's deadline ends the connection.
            self.read_scope.deadline = anyio.current_time() + self.options.close_timeout
            await self._send_close(code, reason)
        await self.reader_done.wait()

    async def _send_bytes(self, data: bytes, header_size: int) -> None:
        """Write one frame's bytes, as the transport faults in force say."""
        if self.write_delay:
            await anyio.sleep(self.write_delay)
        pieces = [data]
        if self.split_interval is not None and 0 < header_size < len(data):
            pieces = [data[:header_size], data[header_size:]]
        for index, piece in enumerate(pieces):
            if index and self.split_interval:
                await anyio.sleep(self.split_interval)
            if self.write_chunks is None:
                await self.stream.send(piece)
                continue
            size, interval = self.write_chunks
            for start in range(0, len(piece), size):
                if start or index:
                    await anyio.sleep(interval)
                await self.stream.send(piece[start : start + size])

    async def _receive_idle_bounded(self) -> bytes:
        """The next bytes from the client; with ``idle_timeout``, a client that sends nothing
        for that long gets close 1001 (the reader's wait ends there)."""
        idle = self.options.idle_timeout
        if idle is None or self.state is not State.OPEN:
            return await self.stream.receive(_RECEIVE_SIZE)
        with anyio.move_on_after(idle):
            return await self.stream.receive(_RECEIVE_SIZE)
        self._note(f"idle_timeout: the client sent nothing for {idle} s; the server closed")
        if self.server_close is None:
            if self.initiator is None:
                self.initiator = Direction.SERVER
            self.state = State.CLOSING
            self.read_scope.deadline = anyio.current_time() + self.options.close_timeout
            await self._send_close(1001, "idle timeout")
        return await self.stream.receive(_RECEIVE_SIZE)

    async def apply_fault(self, fault: Fault) -> None:
        """Carry out a transport fault (a script step) on this connection."""
        at = time.monotonic() - self.conn.accepted_at
        self._note(f"fault {fault.id} fired at +{at:.4f}s: the server {fault.description}")
        kind = fault.kind
        if kind in ("drop", "reset", "close-then-drop", "half-close", "close-frame-only"):
            # The client may now fail or end the connection without a closing handshake.
            self.check_closing = False
        if kind == "drop":
            await self._abort()
        elif kind == "reset":
            await self._reset()
        elif kind == "close-then-drop":
            await self._send_close(fault.code, "")
            if self.initiator is None:
                self.initiator = Direction.SERVER
            await self._abort()
        elif kind == "half-close":
            self.state = State.DRAINING
            if self.tcp_closed_by is None:
                self.tcp_closed_by = Direction.SERVER
            with contextlib.suppress(OSError, anyio.BrokenResourceError):
                await self.socket_stream.send_eof()
        elif kind == "close-frame-only":
            self.close_tcp_after_close = False
            if self.server_close is None:
                if self.initiator is None:
                    self.initiator = Direction.SERVER
                self.state = State.CLOSING
                await self._send_close(fault.code, "")
        elif kind == "no-close-reply":
            self.answer_close = False
        elif kind == "stop-reading":
            await self._pause_reading(fault.seconds)
        elif kind == "stall":
            async with self.write_lock:
                await self._pause_reading(fault.seconds)
                await anyio.sleep(fault.seconds or 0)
        elif kind == "delay-writes":
            self.write_delay = fault.seconds or 0.0
        elif kind == "throttle":
            self.write_chunks = (fault.size, fault.seconds or 0.0)
        elif kind == "split-frames":
            self.split_interval = fault.seconds or 0.0

    async def _pause_reading(self, seconds: float | None) -> None:
        self.reading_allowed = anyio.Event()
        if seconds is None:
            return
        event = self.reading_allowed

        async def resume() -> None:
            await anyio.sleep(seconds)
            event.set()

        assert self.task_group is not None
        self.task_group.start_soon(resume)

    def end_after_grace(self) -> None:
        """After a deliberate violation: give the client ``violation_grace`` seconds to fail the
        connection (or answer), then close TCP, since some clients never do (CLIENTS.md)."""
        if self.state is State.OPEN:
            deadline = anyio.current_time() + self.options.violation_grace
            self.read_scope.deadline = min(self.read_scope.deadline, deadline)

    # -- closing TCP ----------------------------------------------------------------------------

    async def _shutdown(self, *, client_fin_first: bool | None = None) -> None:
        """Send our FIN (after every queued byte) and let the reader run on until the client's
        FIN, for at most close_timeout. ``client_fin_first``: whether the client's FIN was
        seen already (looked up now when not given)."""
        if self.state in (State.DRAINING, State.CLOSED):
            return
        self.state = State.DRAINING
        self.inbox.close()
        self.controls.close()
        if self.tcp_closed_by is None:
            # The client's FIN may already be waiting unread: then it closed first.
            if client_fin_first is None:
                client_fin_first = self._peer_fin_pending(after_close_frame=True)
            self.tcp_closed_by = Direction.CLIENT if client_fin_first else Direction.SERVER
        with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            # On the TCP stream, under TLS too: TLS 1.2 streams refuse send_eof, and we do not
            # send close_notify (clients are told so by standard_compatible=False).
            await self.socket_stream.send_eof()
        self.read_scope.deadline = anyio.current_time() + self.options.close_timeout

    def _peer_fin_pending(self, *, after_close_frame: bool = False) -> bool:
        """Whether the client has closed its side: a non-blocking peek that reads end of file.

        Under TLS a closing client sends close_notify before its FIN, so right after its close
        frame any pending bytes mean the same thing.
        """
        try:
            fileno = self.socket_stream.extra(SocketAttribute.raw_socket).fileno()
            # asyncio wraps its sockets in a TransportSocket that cannot recv(): peek through
            # a duplicate of the descriptor.
            with socket.socket(fileno=os.dup(fileno)) as peek:
                pending = peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            return pending == b"" or (after_close_frame and self.options.tls)
        except (OSError, anyio.TypedAttributeLookupError):
            return False  # nothing to read yet (BlockingIOError), or reset, or no socket

    async def _shutdown_and_drain(self) -> None:
        """Half-close, then read and drop bytes until the client's FIN (handshake phase)."""
        await self._shutdown()
        with anyio.move_on_after(self.options.close_timeout):
            await self._read_until_eof()

    async def _read_until_eof(self) -> None:
        try:
            while True:
                self.unparsed += len(await self.stream.receive(_RECEIVE_SIZE))
        except anyio.EndOfStream:
            self._client_closed_tcp("fin")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._client_closed_tcp("rst")
        except ssl.SSLError as exc:
            self._tls_failed(exc)

    async def _reset(self) -> None:
        """Abortive close: SO_LINGER with a zero timeout makes close() send RST."""
        raw = self.socket_stream.extra(SocketAttribute.raw_socket)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if self.tcp_closed_by is None:
            self.tcp_closed_by = Direction.SERVER
            self.tcp_end = "rst"
        await self._abort()

    async def _abort(self) -> None:
        if self.state is State.CLOSED:
            return
        if self.tcp_closed_by is None:
            self.tcp_closed_by = Direction.SERVER
        self.state = State.CLOSED
        self.read_scope.cancel()
        self.inbox.close()
        self.controls.close()
        with (
            anyio.CancelScope(shield=True),
            contextlib.suppress(OSError, anyio.BrokenResourceError),
        ):
            await self.stream.aclose()

    def _finish(self) -> None:
        self._check_unanswered_pings()
        if self.unparsed:
            self._note(
                f"{self.unparsed} byte(s) the client sent were read but not parsed (after a "
                f"framing error, a rejected handshake, or an outcome that answers nothing)"
            )
        self.inbox.close()
        self.controls.close()
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
            self.conn._close = info
            self.conn._ended = True
            self.conn._handshake_done = True

        self.conn._update(finish)

    def _handshake_over(self) -> None:
        """The server has acted on the opening handshake: waits for the connection return."""
        self.conn._update(lambda: setattr(self.conn, "_handshake_done", True))

    def _note(self, text: str) -> None:
        self.conn._update(lambda: self.conn._notes.append(text))

    # -- the handler ------------------------------------------------------------------------------

    async def _run_handler(self, handler: Handler) -> None:
        websocket = WebSocket(self)
        try:
            await handler(websocket)
        except ConnectionClosed:
            return  # the client went away; the record shows how
        except Exception as exc:
            name = getattr(handler, "__name__", repr(handler))
            self.server._record_error(f"handler {name} on {self.conn.label}", exc)
            await self.close(1011, "handler error")
            return
        await self.close(1000, "")


def _written_headers(raw: bytes) -> Headers:
    """The headers of a response we built, read back from its bytes: what was really written."""
    head = raw.partition(b"\r\n\r\n")[0]
    items = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        items.append((name, value.strip()))
    return Headers(items)


def _deflate_for(extensions: str | None) -> PerMessageDeflate | None:
    """The compression our side uses after answering with ``extensions`` (best effort for
    deliberately odd answers: unknown or invalid parameters are ignored)."""
    if not extensions:
        return None
    offers = parse_extensions([extensions])
    if not offers or offers[0].name != "permessage-deflate":
        return None
    values = dict(offers[0].params)

    def bits(name: str) -> int | None:
        value = values.get(name)
        return int(value) if value and value.isdigit() and 8 <= int(value) <= 15 else None

    return PerMessageDeflate(
        DeflateParams(
            server_no_context_takeover="server_no_context_takeover" in values,
            client_no_context_takeover="client_no_context_takeover" in values,
            server_max_window_bits=bits("server_max_window_bits"),
            client_max_window_bits=bits("client_max_window_bits"),
        )
    )


def _split(payload: bytes, sizes: Sequence[int]) -> list[bytes]:
    """Cut ``payload`` into pieces of these sizes; what is left over is the last piece."""
    if any(size < 0 for size in sizes) or sum(sizes) > len(payload):
        raise ValueError(
            f"fragment sizes {list(sizes)} do not fit a payload of {len(payload)} bytes "
            f"(they must be >= 0 and add up to at most the payload size)"
        )
    pieces, start = [], 0
    for size in sizes:
        pieces.append(payload[start : start + size])
        start += size
    if start < len(payload) or not pieces:
        pieces.append(payload[start:])
    return pieces
