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
import math
import socket
import struct
import time
from collections.abc import Awaitable, Sequence
from typing import Any

import anyio
from anyio.abc import ByteStream, SocketAttribute

from ._actions import Handler, Host
from ._connection import ConnectionRecord
from ._errors import ConfigError, ConnectionClosed, WaitTimeout
from ._fastio import FastSocketStream, WriteStalled
from ._handlers import InlineHandler
from ._handshakes import Handshake
from ._opening import open_connection
from ._protocol import Action, Opcode, Outcome, State, StateEvent, build_close_payload, opcode_name
from ._reading import Reader
from ._records import Direction, Frame, Message
from ._rules import Rule
from ._script import run_script
from ._steps import Step
from ._websocket import OutFrame, WebSocket

__all__ = ["Engine", "Handler", "Host", "split_payload"]


class Engine(Reader):
    """One connection's engine; it is also the `Link` its :class:`WebSocket` acts through."""

    def __init__(
        self,
        host: Host,
        stream: ByteStream,
        record: ConnectionRecord,
        *,
        outcome: Handshake | None = None,
        handler: Handler | None = None,
        steps: tuple[Step, ...] | None = None,
        rules: Sequence[Rule] = (),
    ) -> None:
        super().__init__(
            host, stream, record, outcome=outcome, handler=handler, steps=steps, rules=rules
        )
        self.websocket = WebSocket(self)
        # asyncio: the fast stream bounds a blocked send itself (see _send), set once here.
        self.fast_stream = stream if isinstance(stream, FastSocketStream) else None
        if self.fast_stream is not None:
            self.fast_stream.write_timeout = self.options.timeout

    # -- the whole life -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            trailing = await open_connection(self)
            self.handshake_over.set()
            if trailing is None:
                # A script runs only on a connection that opened: nothing is owed to settle.
                self.script_idle.set()
                return
            async with anyio.create_task_group() as tg:
                self.task_group = tg
                if self.steps is not None:
                    tg.start_soon(self._run_script, self.steps)
                elif isinstance(self.handler, InlineHandler):
                    self.inline = self.handler
                elif self.handler is not None:
                    tg.start_soon(self._run_handler, self.handler)
                await self._read_frames(trailing)
                self.reader_ended.set()
                await self.act(self.machine.server_ends_tcp())
                if self.steps is not None:
                    # The script's lifecycle runs to its end first (sends skipped, pauses cut
                    # short, expectations judged), so the record is whole when it is final.
                    with anyio.move_on_after(self.options.close_timeout):
                        await self.script_idle.wait()
                # The connection has ended: the record says so now, not when a handler that
                # is still sleeping gets round to returning (its sends now raise
                # ConnectionClosed, its receives end).
                self.finish()
        except Exception as exc:  # a bug of ours must fail the test, not vanish
            self.host.error(self.record.label, exc)
        finally:
            await self.wind_up()

    async def _run_script(self, steps: tuple[Step, ...]) -> None:
        try:
            await run_script(self.websocket, steps)
        finally:
            self.script_idle.set()
        # After the script: record, answer pings and close, until the connection ends.
        async for _ in self.websocket:
            pass

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

    def freeze_input(self) -> None:
        self.machine.input_frozen = True

    def hold_close_reply(self) -> None:
        self.machine.hold_actions(Action.REPLY_CLOSE)

    async def pause_reading(self, seconds: float | None, *, block_writes: bool = False) -> None:
        # A server that stops reading cannot hold the client to the closing handshake.
        self.machine.deliberate_break()
        self.reading_allowed = anyio.Event()
        if block_writes:
            async with self.write_lock:
                await self.pause(seconds or 0)
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

    async def wait_for_release(self, label: str) -> None:
        event = self.host.release_event(label)
        if event.is_set():
            return
        # Released, or the connection ended first: then there is nothing left to wait for
        # (the script goes on as its lifecycle says, so the record is whole when final).
        async with anyio.create_task_group() as tg:

            async def on_end() -> None:
                await self.not_open.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(on_end)
            await event.wait()
            tg.cancel_scope.cancel()
        if not event.is_set():
            shown = f"wait_for_release({label!r})" if label else "wait_for_release()"
            self.note(f"{shown}: the connection ended before the test released it")

    async def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the connection stops being open first."""
        with anyio.move_on_after(seconds):
            await self.not_open.wait()

    def script_unsettled(self) -> bool:
        """Whether a script on a connection that is no longer open is still running its
        lifecycle (teardown lets it finish first: see ``settle_script``)."""
        return not (
            self.steps is None
            or self.script_idle.is_set()
            or self.machine.open
            or self.machine.state is State.HANDSHAKE
        )

    async def settle_script(self, limit: float) -> None:
        """At teardown: a script on a connection that is no longer open runs its lifecycle to
        the end first (at most ``limit`` seconds), so its verdict does not depend on how soon
        the test ended after the client closed."""
        if not self.script_unsettled():
            return
        with anyio.move_on_after(limit):
            await self.script_idle.wait()

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
        if self.machine.write_delay:
            # Fault delay-writes: the frame leaves (and is recorded) after the delay, unless
            # the connection ends meanwhile.
            await self._sleep(self.machine.write_delay)
        if not self.machine.may_send(close=is_close):
            raise self._closed_error(f"send {opcode_name(frame.opcode)}")
        header, body = frame.encode()
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
                header,
                now,
            )
        )
        if message is not None:
            self.record.record_message(message)
        try:
            await self._send_bytes(header, body)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            if self.machine.state is not State.CLOSED:
                self.note(f"writing {opcode_name(frame.opcode)} failed: the client is gone")
                await self.act(self.machine.client_ended_tcp(reset=True))
            raise ConnectionClosed(
                self.record.label, f"send {opcode_name(frame.opcode)}", f"broken ({exc!r})"
            ) from exc
        if outcome is not None:
            await self.act(outcome)

    async def _send_bytes(self, header: bytes, body: bytes) -> None:
        """Write one frame's bytes, as the transport faults in force say."""
        m = self.machine
        if m.split_interval is None and m.write_chunks is None:
            # A payload of 64 KiB or more is written on its own, not copied behind its header.
            for piece in (header, body) if len(body) >= 65536 else (header + body,):
                await self._send(piece)
            return
        pieces = [header, body] if m.split_interval is not None and body else [header + body]
        for index, piece in enumerate(pieces):
            if index and m.split_interval:
                await self._sleep(m.split_interval)
            if m.write_chunks is None:
                await self._send(piece)
                continue
            size, interval = m.write_chunks
            for start in range(0, len(piece), size):
                if start or index:
                    await self._sleep(interval)
                await self._send(piece[start : start + size])

    async def _sleep(self, seconds: float) -> None:
        """A pause between writes that ends, with ConnectionClosed, when the connection does."""
        with anyio.move_on_after(seconds):
            await self.reader_ended.wait()
        if self.reader_ended.is_set():
            if self.machine.state is not State.CLOSED:
                await self.act(self.machine.server_ends_tcp())
            raise ConnectionClosed(self.record.label, "send", "closed while the write waited")

    async def _send(self, data: bytes) -> None:
        """One write, bounded by the ``timeout`` option: a client that does not read (its
        receive buffer full) cannot hold a handler, a script or the test forever."""
        limit = self.options.timeout
        if self.fast_stream is not None:
            # asyncio: the fast stream bounds the wait itself, only when a send blocks.
            try:
                await self.stream.send(data)
            except WriteStalled:
                await self._stalled(len(data), limit)
            return
        with anyio.move_on_after(limit) as scope:
            await self.stream.send(data)
        if scope.cancelled_caught:
            await self._stalled(len(data), limit)

    async def _stalled(self, size: int, limit: float) -> None:
        # Part of a frame may be out: the connection cannot go on.
        self.machine.write_stalled = True
        self.note(
            f"a write of {size} bytes did not finish within {limit} s (timeout): the "
            f"client is not reading; the server closed TCP"
        )
        await self.act(self.machine.server_ends_tcp())
        raise ConnectionClosed(
            self.record.label, "send", f"closed: the client did not read for {limit} s"
        )

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
            # The common case, one frame, has no pieces to cut (nor sizes to check).
            pieces = split_payload(payload, fragments) if fragments else [payload]
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
        ended (the client answered and TCP is closed, or close_timeout ran out).

        Bounded in every state: a connection that cannot send a close frame (never opened,
        closing, half-closed) gets ``close_timeout`` to end by itself, then the server closes
        TCP."""
        if self.machine.state is State.HANDSHAKE:
            # The opening handshake is still running (no request yet, a delayed or trickled
            # 101): wait for it, at most close_timeout, then close what it opened.
            with anyio.move_on_after(self.options.close_timeout):
                await self.handshake_over.wait()
            if self.machine.state is State.HANDSHAKE:
                self.note(
                    f"the opening handshake did not end within {self.options.close_timeout} s "
                    f"(close_timeout) after the server asked to close; the server closed TCP"
                )
                await self.act(self.machine.server_ends_tcp())
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
        if not self.machine.ended and self.read_scope.deadline == math.inf:
            # Closing with no deadline in force (half-closed, a fault holds the close): the
            # reader gets close_timeout, and its TIMEOUT transition ends the connection.
            self.read_scope.deadline = anyio.current_time() + self.options.close_timeout
            self.machine.grace_deadline = False
        # The reader ends the connection (bounded by its deadline); the record is final soon
        # after, once a script has done what its lifecycle says (the script may be the caller).
        await self.wait_reader_ended()


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
