"""Drives one connection in the server thread: a byte pump that does what the state machine says.

Theory of operation. The connection's whole state is one `ConnectionState` (``_protocol``):
where it is, who closed what, which faults hold which actions. The engine reads bytes, feeds
them to the sans-IO parsers, records what they yield (before anything goes out in answer),
tells the state machine what happened, and carries out the `Action` values it returns: answer
a close frame, send our FIN, set the ``close_timeout`` deadline, close the socket, stop feeding
the handler. Every close frame the server writes, from ``close()``, a raw frame, a fault, a
violation's answer or the idle timeout, goes through `ConnectionState.send_close`.

Every wait is bounded: the reader's cancel scope gets a deadline as soon as the server stops
waiting for frames (`Action.DEADLINE`, `Action.GRACE`), a close from the server gives up on a
blocked write after ``close_timeout``, and the server's teardown cancels everything else.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import anyio
from anyio.abc import ByteStream, SocketAttribute

from ._connection import ConnectionRecord
from ._errors import ConfigError, ConnectionClosed, WaitTimeout
from ._handlers import InlineHandler
from ._handshakes import Handshake
from ._inbox import Inbox
from ._opening import open_connection
from ._options import ServerOptions
from ._pings import PingTracker
from ._protocol import (
    Action,
    CloseEvent,
    ConnectionState,
    FrameDecoder,
    MessageAssembler,
    MessageEvent,
    Opcode,
    Outcome,
    PerMessageDeflate,
    PingEvent,
    PongEvent,
    State,
    StateEvent,
    Violation,
    build_close_payload,
    opcode_name,
)
from ._records import CloseInfo, Direction, Frame, Message
from ._script import run_script
from ._steps import Step
from ._websocket import OutFrame, WebSocket

Handler = Callable[[WebSocket], Awaitable[Any]]

RECEIVE_SIZE = 65536


class Host(Protocol):
    """What the engine needs from the server above it (the server implements it)."""

    @property
    def options(self) -> ServerOptions: ...

    @property
    def url(self) -> str: ...

    def tls_context(self) -> ssl.SSLContext: ...

    def error(self, where: str, exc: BaseException) -> None: ...

    def release_event(self, label: str) -> anyio.Event: ...


def client_rule(kind: str, detail: str, rfc: str) -> Violation:
    """A rule the client broke that the server records without failing the connection."""
    return Violation(kind, detail, rfc, close_code=None, status=None, fatal=False)


class Engine:
    """One connection's engine; it is also the `Link` its :class:`WebSocket` acts through."""

    def __init__(
        self,
        host: Host,
        stream: ByteStream,
        record: ConnectionRecord,
        *,
        outcome: Handshake,
        handler: Handler | None = None,
        steps: tuple[Step, ...] | None = None,
    ) -> None:
        self.host = host
        self.options = host.options
        self.socket_stream = stream
        self.stream = stream
        self.record = record
        self.outcome = outcome
        self.handler = handler
        self.steps = steps
        self.machine = ConnectionState()
        self.deflate: PerMessageDeflate | None = None
        # fast_acquire: no trip through the event loop when the lock is free (nearly always).
        self.write_lock = anyio.Lock(fast_acquire=True)
        # The client's messages, and its pings and pongs, for handlers and scripts.
        self.inbox: Inbox[Message] = Inbox()
        self.controls: Inbox[Frame] = Inbox()
        self.pings = PingTracker()
        self.inline: InlineHandler | None = None
        self.websocket = WebSocket(self)
        self.reading_allowed = anyio.Event()
        self.reading_allowed.set()
        self.task_group: anyio.abc.TaskGroup | None = None
        # Bytes read but not parsed (see finish): every byte is accounted for in the record.
        self.unparsed = 0
        # Whether the client's FIN was already waiting when we answered its close frame.
        self.fin_seen: bool | None = None
        # The close code and reason that answer a client close frame that broke a rule.
        self.reply: tuple[int, str] | None = None
        self.read_scope = anyio.CancelScope()
        # Whether the read deadline in force is violation_grace's (else close_timeout's).
        self.grace_deadline = False
        self.reader_done = anyio.Event()

    # -- Link: what the WebSocket reads ---------------------------------------------------------

    @property
    def default_timeout(self) -> float:
        return self.options.timeout

    @property
    def compression(self) -> bool:
        return self.deflate is not None

    @property
    def client_close(self) -> tuple[int | None, str] | None:
        return self.machine.client_close

    @property
    def is_open(self) -> bool:
        return self.machine.open

    @property
    def excused(self) -> bool:
        return self.machine.excused

    def note(self, text: str) -> None:
        self.record.note(text)

    # -- the whole life -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            trailing = await open_connection(self)
            if trailing is None:
                return
            async with anyio.create_task_group() as tg:
                self.task_group = tg
                if self.steps is not None:
                    tg.start_soon(run_script, self.websocket, self.steps)
                elif isinstance(self.handler, InlineHandler):
                    self.inline = self.handler
                elif self.handler is not None:
                    tg.start_soon(self._run_handler, self.handler)
                await self._read_frames(trailing)
                self.inbox.close()
                self.controls.close()
        except Exception as exc:  # a bug of ours must fail the test, not vanish
            self.host.error(self.record.label, exc)
        finally:
            with anyio.CancelScope(shield=True):
                await self.act(self.machine.server_ends_tcp())
                self.finish()

    async def _run_handler(self, handler: Handler) -> None:
        try:
            await handler(self.websocket)
        except ConnectionClosed:
            return  # the client went away; the record shows how
        except Exception as exc:
            name = getattr(handler, "__name__", repr(handler))
            self.host.error(f"handler {name} on {self.record.label}", exc)
            await self.close(1011, "handler error")
            return
        await self.close(1000, "")

    def finish(self) -> None:
        """Write how the connection ended: the record is final."""
        violation = self.pings.unanswered()
        if violation is not None:
            self.record.violation(violation)
        if self.unparsed:
            self.note(
                f"{self.unparsed} byte(s) the client sent were read but not parsed (after a "
                f"framing error, a rejected handshake, or an outcome that answers nothing)"
            )
        self.inbox.close()
        self.controls.close()
        m = self.machine
        client = m.client_close or (None, "")
        server = m.server_close or (None, "")
        self.record.finish(
            CloseInfo(
                initiator=m.initiator,
                client_sent=m.client_close is not None,
                client_code=client[0],
                client_reason=client[1],
                server_sent=m.server_close is not None,
                server_code=server[0],
                server_reason=server[1],
                tcp_closed_by=m.tcp_closed_by or Direction.SERVER,
                tcp_end="rst" if m.tcp_rst else "fin",
            )
        )

    # -- carrying out the state machine's actions -----------------------------------------------

    async def act(self, outcome: Outcome) -> None:
        """Do what the state machine decided, in order."""
        for action in outcome.held:
            self._note_held(action)
        for action in outcome.actions:
            if action is Action.STOP_INPUT:
                self.inbox.close()
                self.controls.close()
            elif action is Action.REPLY_CLOSE:
                # RFC 6455 section 5.5.1: answer with a close frame, echoing the status code.
                code = self.machine.client_close[0] if self.machine.client_close else None
                reason = ""
                if self.reply is not None:
                    # The client's close frame broke a rule: answer with the rule's code
                    # rather than echo an invalid one (RFC 6455 section 7.1.7).
                    code, reason = self.reply
                payload = build_close_payload(code, reason)
                with contextlib.suppress(ConnectionClosed):
                    await self.send_frames([OutFrame(Opcode.CLOSE, payload)])
            elif action is Action.SHUTDOWN:
                await self._shutdown()
            elif action is Action.DEADLINE:
                self.read_scope.deadline = anyio.current_time() + self.options.close_timeout
                self.grace_deadline = False
            elif action is Action.GRACE:
                self.end_after_grace()
            elif action is Action.ABORT:
                await self._close_socket()
            elif action is Action.CHECK_CLOSING:
                self._check_closing(outcome.before)
            elif action is Action.NO_CLOSE_REPLY:
                self.record.violation(
                    client_rule(
                        "no-close-reply",
                        f"the client did not answer the server's close frame within "
                        f"{self.options.close_timeout} s (close_timeout)",
                        "RFC 6455 section 5.5.1",
                    )
                )

    def _note_held(self, action: Action) -> None:
        if action is Action.REPLY_CLOSE:
            self.note("fault no-close-reply: took the client's close frame, answered nothing")
        elif action is Action.SHUTDOWN:
            self.note("fault close-frame-only: got the client's close frame, kept TCP open")

    def _check_closing(self, before: State) -> None:
        """The client ended TCP without the closing handshake (RFC 6455 sections 5.5.1 and
        7.1.1): the peer sees an abnormal closure (1006)."""
        if self.machine.client_close is not None:
            return
        how = "RST" if self.machine.tcp_rst else "FIN"
        if before is State.OPEN:
            detail = f"the client closed TCP ({how}) without sending a close frame"
        else:
            detail = f"the client closed TCP ({how}) instead of answering the server's close frame"
        self.record.violation(
            client_rule("no-closing-handshake", detail, "RFC 6455 sections 5.5.1 and 7.1.1")
        )

    async def _shutdown(self) -> None:
        """Send our FIN after every queued byte; the reader runs on until the client's FIN."""
        fin_first = self.fin_seen if self.fin_seen is not None else self.peer_fin_pending()
        self.machine.server_fin_sent(client_fin_first=fin_first)
        with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            # On the TCP stream, under TLS too: TLS 1.2 streams refuse send_eof, and we do not
            # send close_notify (clients are told so by standard_compatible=False).
            await self.socket_stream.send_eof()

    def peer_fin_pending(self) -> bool:
        """Whether the client has closed its side: a non-blocking peek that reads end of file.

        Under TLS a closing client sends close_notify before its FIN, so after its close frame
        any pending bytes mean the same thing.
        """
        try:
            fileno = self.socket_stream.extra(SocketAttribute.raw_socket).fileno()
            # asyncio wraps its sockets in a TransportSocket that cannot recv(): peek through
            # a duplicate of the descriptor.
            with socket.socket(fileno=os.dup(fileno)) as peek:
                pending = peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            return pending == b"" or (self.machine.client_close is not None and self.options.tls)
        except (OSError, anyio.TypedAttributeLookupError):
            return False  # nothing to read yet (BlockingIOError), or reset, or no socket

    async def _close_socket(self) -> None:
        self.read_scope.cancel()
        self.inbox.close()
        self.controls.close()
        with (
            anyio.CancelScope(shield=True),
            contextlib.suppress(OSError, anyio.BrokenResourceError),
        ):
            await self.stream.aclose()

    # -- Transport: what faults do -------------------------------------------------------------

    async def abort(self, *, reset: bool = False) -> None:
        self.machine.deliberate_break()
        if reset:
            # Abortive close: SO_LINGER with a zero timeout makes close() send RST.
            raw = self.socket_stream.extra(SocketAttribute.raw_socket)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await self.act(self.machine.server_ends_tcp(reset=reset))

    async def half_close(self) -> None:
        self.machine.deliberate_break()
        await self.act(self.machine.handle(StateEvent.HALF_CLOSE))

    async def send_close_frame(self, code: int, *, keep_tcp_open: bool = False) -> None:
        self.machine.deliberate_break()
        if keep_tcp_open:
            self.machine.hold_actions(Action.SHUTDOWN, Action.DEADLINE)
        if self.machine.may_send(close=True):
            await self.send_frames([OutFrame(Opcode.CLOSE, build_close_payload(code, ""))])

    def hold_close_reply(self) -> None:
        self.machine.hold_actions(Action.REPLY_CLOSE)

    async def pause_reading(self, seconds: float | None, *, block_writes: bool = False) -> None:
        self.reading_allowed = anyio.Event()
        if block_writes:
            async with self.write_lock:
                await anyio.sleep(seconds or 0)
            self.reading_allowed.set()
            return
        if seconds is None:
            return
        event = self.reading_allowed

        async def resume() -> None:
            await anyio.sleep(seconds)
            event.set()

        assert self.task_group is not None
        self.task_group.start_soon(resume)

    def shape_writes(
        self,
        *,
        delay: float | None = None,
        chunks: tuple[int, float] | None = None,
        split_interval: float | None = None,
    ) -> None:
        if delay is not None:
            self.machine.write_delay = delay
        if chunks is not None:
            self.machine.write_chunks = chunks
        if split_interval is not None:
            self.machine.split_interval = split_interval

    def end_after_grace(self) -> None:
        """After a deliberate violation: give the client ``violation_grace`` seconds to fail the
        connection (or answer), then close TCP, since some clients never do (CLIENTS.md)."""
        if self.machine.state in (State.OPEN, State.CLOSE_SENT):
            deadline = anyio.current_time() + self.options.violation_grace
            if deadline < self.read_scope.deadline:
                self.read_scope.deadline = deadline
                self.grace_deadline = True

    async def wait_for_release(self, label: str) -> None:
        await self.host.release_event(label).wait()

    # -- receiving, for the WebSocket -----------------------------------------------------------

    def _closed_error(self, what: str) -> ConnectionClosed:
        code, reason = self.machine.client_close or (None, "")
        return ConnectionClosed(self.record.label, what, self.machine.state.value, code, reason)

    async def _bounded(self, item: Awaitable[Any], what: str, timeout: float | None) -> Any:
        limit = self.options.timeout if timeout is None else timeout
        try:
            with anyio.fail_after(limit):
                return await item
        except anyio.EndOfStream:
            raise self._closed_error(f"receive {what}") from None
        except TimeoutError:
            raise WaitTimeout(
                f"waited {limit} s for {what} from the client on {self.record.label}; "
                f"none came ({self.record.describe()})"
            ) from None

    async def receive(self, timeout: float | None) -> Message:
        message: Message = await self._bounded(self.inbox.get(), "a message", timeout)
        return message

    async def receive_control(self, timeout: float | None, opcode: Opcode | None) -> Frame:
        wanted = (
            self.controls.get()
            if opcode is None
            else self.controls.take(lambda f: f.opcode == opcode)
        )
        frame: Frame = await self._bounded(wanted, "a ping or pong", timeout)
        return frame

    async def next_message(self) -> Message | None:
        try:
            return await self.inbox.get()
        except anyio.EndOfStream:
            return None

    # -- writing -------------------------------------------------------------------------------

    async def send_frames(self, frames: Sequence[OutFrame], *, deliberate: bool = False) -> None:
        """Write frames in order, each recorded before it leaves.

        ``deliberate`` marks frames that break the protocol on purpose: a compliant client
        may then drop TCP without a closing handshake, so that is no longer held against it.
        """
        if deliberate:
            self.machine.deliberate_break()
        async with self.write_lock:
            for frame in frames:
                await self._write_frame(frame)

    async def _write_frame(self, frame: OutFrame, message: Message | None = None) -> None:
        """Record and write one frame (and, before its bytes, the message it completes)."""
        is_close = frame.opcode == Opcode.CLOSE
        if not self.machine.may_send(close=is_close):
            raise self._closed_error(f"send {opcode_name(frame.opcode)}")
        data = frame.encode()
        header = len(data) - len(frame.payload)
        outcome: Outcome | None = None
        # Everything the client's answer depends on is set, and recorded, before the bytes
        # leave: on trio the answer can be read (by the reader task) before this write returns.
        if frame.opcode == Opcode.PING and frame.fin and len(frame.payload) <= 125:
            self.pings.sent(frame.payload)
        elif is_close:
            # Any close frame, valid or not, is the server's close frame: the closing handshake
            # starts, with its deadline, and nothing may follow it (RFC 6455 section 5.5.1).
            payload = frame.payload
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            outcome = self.machine.send_close(code, payload[2:].decode("utf-8", errors="replace"))
        now = time.monotonic()
        self.record.record_frame(
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
                data[:header],
                now,
            )
        )
        if message is not None:
            self.record.record_message(message)
        try:
            await self._send_bytes(data, header)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            if self.machine.state is not State.CLOSED:
                self.note(f"writing {opcode_name(frame.opcode)} failed: the client is gone")
                await self.act(self.machine.client_ended_tcp(reset=True))
            raise ConnectionClosed(
                self.record.label, f"send {opcode_name(frame.opcode)}", f"broken ({exc!r})"
            ) from exc
        if outcome is not None:
            await self.act(outcome)

    async def _send_bytes(self, data: bytes, header_size: int) -> None:
        """Write one frame's bytes, as the transport faults in force say."""
        m = self.machine
        if m.write_delay:
            await anyio.sleep(m.write_delay)
        pieces = [data]
        if m.split_interval is not None and 0 < header_size < len(data):
            pieces = [data[:header_size], data[header_size:]]
        for index, piece in enumerate(pieces):
            if index and m.split_interval:
                await anyio.sleep(m.split_interval)
            if m.write_chunks is None:
                await self.stream.send(piece)
                continue
            size, interval = m.write_chunks
            for start in range(0, len(piece), size):
                if start or index:
                    await anyio.sleep(interval)
                await self.stream.send(piece[start : start + size])

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
                f"{self.record.label} (extensions answered: {self.record.extensions!r}); "
                f"compress=None compresses only when it was"
            )
        use_deflate = self.deflate is not None and compress is not False
        async with self.write_lock:
            if not self.machine.may_send():
                raise self._closed_error(f"send {opcode_name(opcode)}")
            # Compress under the lock so the shared compression context follows wire order.
            payload = self.deflate.compress(data) if use_deflate and self.deflate else data
            pieces = split_payload(payload, fragments)
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
            for frame in frames[:-1]:
                await self._write_frame(frame)
            # The message is recorded just before its last frame leaves, with that time.
            message = Message(
                Direction.SERVER, opcode, data, use_deflate, len(pieces), time.monotonic()
            )
            await self._write_frame(frames[-1], message)

    async def close(self, code: int | None, reason: str) -> None:
        """Start the closing handshake from the server's side; return when the connection has
        ended (the client answered and TCP is closed, or close_timeout ran out)."""
        if self.machine.may_send(close=True) and self.machine.server_close is None:
            # A write blocked by a client that does not read must not hold the close forever.
            with anyio.move_on_after(self.options.close_timeout) as scope:
                with contextlib.suppress(ConnectionClosed):
                    await self.send_frames(
                        [OutFrame(Opcode.CLOSE, build_close_payload(code, reason))]
                    )
            if scope.cancelled_caught:
                self.note(
                    f"a write to the client was blocked for {self.options.close_timeout} s "
                    f"(close_timeout) when the server wanted to close; the server closed TCP"
                )
                await self.act(self.machine.server_ends_tcp())
        await self.reader_done.wait()

    # -- reading ---------------------------------------------------------------------------------

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
                        await self._on_data(data, decoder, assembler)
                    if self.machine.ended:
                        return
                    if not self.reading_allowed.is_set():
                        await self.reading_allowed.wait()
                    try:
                        data = await self._receive_idle_bounded()
                    except anyio.EndOfStream:
                        self._note_pending(decoder)
                        await self.act(self.machine.client_ended_tcp(reset=False))
                        return
                    except anyio.BrokenResourceError:
                        self._note_pending(decoder)
                        await self.act(self.machine.client_ended_tcp(reset=True))
                        return
                    except ssl.SSLError as exc:
                        await self.tls_failed(exc)
                        return
                    except anyio.ClosedResourceError:
                        # We closed the stream ourselves (a fault, a deadline) while this task
                        # was reading: on trio that ends the read before the cancellation does.
                        return
            if self.read_scope.cancelled_caught and not self.machine.ended:
                self._note_timeout()
                await self.act(self.machine.handle(StateEvent.TIMEOUT))
        finally:
            self.reader_done.set()

    def _note_pending(self, decoder: FrameDecoder) -> None:
        """Bytes of an unfinished frame when the stream ended: noted, so no byte the client
        sent goes unaccounted for."""
        pending = decoder.describe_pending()
        if pending is not None and not decoder.failed:
            self.note(f"the stream ended in the middle of a frame: {pending} were read")

    def _note_timeout(self) -> None:
        state = self.machine.state
        timeout = self.options.close_timeout
        if self.grace_deadline:
            self.note(
                f"the server closed TCP {self.options.violation_grace} s after a deliberate "
                f"violation (violation_grace)"
            )
        elif state is State.CLOSE_SENT:
            self.note(
                f"the client did not answer the server's close frame within {timeout} s "
                f"(close_timeout); the server closed TCP"
            )
        elif state is State.OPEN:
            self.note(
                f"the server closed TCP {self.options.violation_grace} s after a deliberate "
                f"violation (violation_grace)"
            )
        elif state is State.DRAINING:
            self.note(
                f"the client did not close TCP within {timeout} s (close_timeout) after the "
                f"server's FIN; the server closed the socket"
            )

    async def tls_failed(self, exc: ssl.SSLError) -> None:
        """A TLS alert or bad record from the client ends the connection like a TCP close.

        After our FIN (we send no close_notify) some TLS clients answer with an alert; that is
        the client closing, not a failure."""
        if self.machine.state is State.DRAINING:
            await self.act(self.machine.client_ended_tcp(reset=False))
            return
        self.note(f"TLS error while reading: {exc}")
        await self.act(self.machine.client_ended_tcp(reset=True))

    async def _receive_idle_bounded(self) -> bytes:
        """The next bytes from the client; with ``idle_timeout``, a client that sends nothing
        for that long gets close 1001 (the reader's wait ends there)."""
        idle = self.options.idle_timeout
        if idle is None or not self.machine.open:
            return await self.stream.receive(RECEIVE_SIZE)
        with anyio.move_on_after(idle):
            return await self.stream.receive(RECEIVE_SIZE)
        self.note(f"idle_timeout: the client sent nothing for {idle} s; the server closed")
        with contextlib.suppress(ConnectionClosed):
            await self.send_frames(
                [OutFrame(Opcode.CLOSE, build_close_payload(1001, "idle timeout"))]
            )
        return await self.stream.receive(RECEIVE_SIZE)

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
                await self.client_violation(item)
                continue
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
                time.monotonic(),
            )
            self.record.record_frame(frame)
            if self.machine.client_close is not None:
                self.record.violation(
                    client_rule(
                        "data-after-close",
                        f"the client sent a {frame.opcode_name} frame after its close frame",
                        "RFC 6455 section 5.5.1",
                    )
                )
                continue
            events = assembler.receive(item)
            bad_close = next((e for e in events if isinstance(e, CloseEvent) and not e.valid), None)
            if bad_close is not None:
                # A close frame with an invalid payload is still the client's close frame:
                # recorded with its raw code, and answered with the violation's code.
                for event in events:
                    if isinstance(event, Violation):
                        self.record.violation(event)
                        self.reply = (event.close_code or 1002, event.kind[:100])
                await self._on_client_close(bad_close)
                continue
            for event in events:
                await self._on_event(event, frame)

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
            self.record.record_message(message)
            if self.inline is not None:
                if self.machine.open:
                    with contextlib.suppress(ConnectionClosed):
                        await self.inline.on_message(self.websocket, message)
            elif self.handler is not None or self.steps is not None:
                self.inbox.put(message)  # ignored once the inbox is closed
        elif isinstance(event, PingEvent):
            self.record.record_ping(event.payload)
            self._to_handler(frame)
            if self.machine.may_send():
                with contextlib.suppress(ConnectionClosed):
                    await self.send_frames([OutFrame(Opcode.PONG, event.payload)])
        elif isinstance(event, PongEvent):
            self.record.record_pong(event.payload)
            self.pings.pong(event.payload)
            self._to_handler(frame)
        elif isinstance(event, CloseEvent):
            await self._on_client_close(event)
        elif isinstance(event, Violation):
            await self.client_violation(event)

    def _to_handler(self, frame: Frame) -> None:
        if (self.handler is not None or self.steps is not None) and self.machine.open:
            self.controls.put(frame)

    async def _on_client_close(self, event: CloseEvent) -> None:
        # Look before answering: a FIN already here was sent before the client could have
        # seen our close frame (httpx-ws does that); one that comes later is fair play.
        self.fin_seen = self.peer_fin_pending() if self.machine.client_close is None else None
        await self.act(self.machine.receive_close(event.code, event.reason))

    async def client_violation(self, violation: Violation) -> None:
        self.record.violation(violation)
        if not violation.fatal or not self.machine.may_send(close=True):
            return
        # RFC 6455 section 7.1.7: fail the connection, with the close code the rule names.
        if self.machine.server_close is None:
            payload = build_close_payload(violation.close_code or 1002, violation.kind[:100])
            with contextlib.suppress(ConnectionClosed):
                await self.send_frames([OutFrame(Opcode.CLOSE, payload)])
        if not self.machine.ended and self.machine.state is not State.DRAINING:
            # Failing the connection does not wait for the client's close frame.
            self.fin_seen = None
            await self.act(self.machine.handle(StateEvent.HALF_CLOSE))


def split_payload(payload: bytes, sizes: Sequence[int]) -> list[bytes]:
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
