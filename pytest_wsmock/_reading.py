"""Reading one connection: bytes to frames to events, recorded before anything answers them."""

from __future__ import annotations

import contextlib
import ssl
import time

import anyio

from ._actions import RECEIVE_SIZE, ConnectionCore, client_rule
from ._errors import ConnectionClosed
from ._fastio import FAST_RECEIVE_SIZE, FastSocketStream
from ._protocol import (
    CloseEvent,
    FrameDecoder,
    MessageAssembler,
    MessageEvent,
    Opcode,
    PingEvent,
    PongEvent,
    RawFrame,
    State,
    StateEvent,
    Violation,
    build_close_payload,
)
from ._records import Direction, Frame, Message, preview
from ._rules import Rule
from ._websocket import OutFrame


class Reader(ConnectionCore):
    """The reading half of a connection's engine."""

    async def _read_frames(self, trailing: bytes) -> None:
        decoder = FrameDecoder(max_frame_size=self.options.max_message_size)
        assembler = MessageAssembler(
            require_masked=True,
            max_message_size=self.options.max_message_size,
            deflate=self.deflate,
        )
        data = trailing
        self.reader_task = anyio.get_current_task().id
        with self.read_scope:
            while True:
                if not self.reading_allowed.is_set():
                    # Faults stop-reading and stall: what was read is held, not parsed, until
                    # reading is allowed again.
                    await self.reading_allowed.wait()
                if data:
                    await self._on_data(data, decoder, assembler)
                if self.machine.ended:
                    return
                try:
                    data = await self._receive_idle_bounded()
                except anyio.EndOfStream:
                    if self.machine.input_frozen:
                        return  # the fault that froze input ends the connection itself
                    self._note_pending(decoder)
                    await self.act(self.machine.client_ended_tcp(reset=False))
                    return
                except anyio.BrokenResourceError:
                    if self.machine.input_frozen:
                        return
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

    def _note_pending(self, decoder: FrameDecoder) -> None:
        """Bytes of an unfinished frame when the stream ended: noted, so no byte the client
        sent goes unaccounted for."""
        pending = decoder.describe_pending()
        if pending is not None and not decoder.failed:
            self.note(f"the stream ended in the middle of a frame: {pending} were read")

    def _note_timeout(self) -> None:
        state = self.machine.state
        timeout = self.options.close_timeout
        if self.machine.grace_deadline:
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
        size = FAST_RECEIVE_SIZE if isinstance(self.stream, FastSocketStream) else RECEIVE_SIZE
        if idle is None or not self.machine.open:
            return await self.stream.receive(size)
        with anyio.move_on_after(idle):
            return await self.stream.receive(size)
        self.note(f"idle_timeout: the client sent nothing for {idle} s; the server closed")
        with contextlib.suppress(ConnectionClosed):
            await self.send_frames(
                [OutFrame(Opcode.CLOSE, build_close_payload(1001, "idle timeout"))]
            )
        return await self.stream.receive(RECEIVE_SIZE)

    async def _on_data(
        self, data: bytes, decoder: FrameDecoder, assembler: MessageAssembler
    ) -> None:
        if decoder.failed or self.machine.over_budget or self.machine.input_frozen:
            # After a fatal framing error nothing can be parsed any more (where would the next
            # frame start?), and past the record budget nothing more is kept: the bytes are
            # counted, and the count is noted at the end.
            self.unparsed += len(data)
            return
        items = decoder.feed(data)
        if len(items) > 1 and isinstance(self.stream, FastSocketStream):
            # Several frames in one read: their answers leave together (see FastSocketStream).
            self.stream.coalesce = True
            try:
                await self._on_items(items, assembler)
            finally:
                self.stream.coalesce = False
        else:
            await self._on_items(items, assembler)

    async def _on_items(
        self, items: list[RawFrame | Violation], assembler: MessageAssembler
    ) -> None:
        for item in items:
            if isinstance(item, Violation):
                await self.client_violation(item)
                continue
            if self.machine.over_budget:
                # Past the record budget nothing more is kept, only counted.
                self.unparsed += len(item.header) + len(item.payload)
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
            if not self.record.record_frame(frame):
                await self._over_budget()
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
                        self.machine.reply = (event.close_code or 1002, event.kind[:100])
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
            if not self.record.record_message(message):
                await self._over_budget()
            self.received_count += 1
            if self.rules and await self._offer(message, "message", self.received_count - 1):
                return  # a rule answered it and consumed it
            if self.inline is not None:
                if self.machine.open:
                    with contextlib.suppress(ConnectionClosed):
                        await self.inline.on_message(self.websocket, message)
            elif self.handler is not None or self.steps is not None:
                self.inbox.put(message)  # ignored once the inbox is closed
        elif isinstance(event, PingEvent):
            self.record.record_ping(event.payload)
            self.ping_count += 1
            consumed = False
            if self.machine.may_send():
                with contextlib.suppress(ConnectionClosed):
                    await self.send_frames([OutFrame(Opcode.PONG, event.payload)])
            # A rule on pings answers after the pong the protocol asks for.
            if self.rules:
                consumed = await self._offer(frame, "ping", self.ping_count - 1)
            if not consumed:
                self._to_handler(frame)
        elif isinstance(event, PongEvent):
            self.record.record_pong(event.payload)
            self.pings.pong(event.payload)
            self.pong_count += 1
            if not (self.rules and await self._offer(frame, "pong", self.pong_count - 1)):
                self._to_handler(frame)
        elif isinstance(event, CloseEvent):
            await self._on_client_close(event)
        elif isinstance(event, Violation):
            await self.client_violation(event)

    # -- background rules ----------------------------------------------------------------------

    async def _offer(self, item: Message | Frame, kind: str, number: int) -> bool:
        """Offer the client's message (or ping or pong frame) to the rules, in order: the first
        that matches answers it, here in the reading task, so its answer is on the wire (and
        in the record) before the next frame is read. Returns whether the rule consumed it."""
        for index, rule in enumerate(self.rules):
            if index in self.rules_stopped or rule.trigger.trigger_kind() != kind:
                continue
            try:
                matched = rule.trigger.matches(item)
            except Exception as exc:
                self._rule_failed(index, rule, f"its trigger raised on {kind} #{number}", exc)
                continue
            if not matched:
                continue
            answered = self.rule_answers.get(index, 0) + 1
            self.rule_answers[index] = answered
            if rule.times is not None and answered >= rule.times:
                self.rules_stopped.add(index)
            # Noted before the answer leaves: the record never lags the wire.
            self.note(
                f"rule #{index} {rule.trigger.describe()} answered {kind} #{number} "
                f"({preview(item.payload if isinstance(item, Frame) else item.data)})"
            )
            await self._answer(index, rule, item)
            return rule.consume
        return False

    async def _answer(self, index: int, rule: Rule, item: Message | Frame) -> None:
        try:
            steps = rule.answer(item)
        except Exception as exc:
            self._rule_failed(index, rule, "a response function raised", exc)
            return
        for step in steps:
            # As in a script: nothing is sent once the connection is no longer open.
            if not self.machine.open:
                self.note(f"rule #{index}: {step.describe()} skipped, the connection had ended")
                continue
            try:
                await step.run(self.websocket)
            except ConnectionClosed as exc:
                self.note(f"rule #{index}: {step.describe()} skipped, the connection ended ({exc})")
            except Exception as exc:
                self._rule_failed(index, rule, f"{step.describe()} failed", exc)
                return

    def _rule_failed(self, index: int, rule: Rule, why: str, exc: Exception) -> None:
        """A rule that raised answers no more; the test fails with the traceback, and the
        connection goes on (the message goes on to the script or handler when not matched)."""
        self.rules_stopped.add(index)
        self.note(
            f"rule #{index} {rule.trigger.describe()}: {why} ({type(exc).__name__}: {exc}); "
            f"the rule answers no more"
        )
        self.host.error(f"rule #{index} {rule.describe()} on {self.record.label}", exc)

    async def wait_reader_ended(self) -> None:
        """Wait until the reader has ended the connection; at once when called by a rule's
        response (``close()``), which runs in the reading task and cannot wait for itself: the
        reader goes on, with the closing handshake's deadline, once the response returns."""
        if self.reader_task == anyio.get_current_task().id:
            return
        await self.reader_ended.wait()

    async def _over_budget(self) -> None:
        """The record went over ``max_record_size``: end the connection once, with 1008."""
        if self.machine.over_budget:
            return
        self.machine.over_budget = True
        limit = self.options.max_record_size
        self.note(
            f"max_record_size: the record of this connection holds {self.record.record_size} "
            f"bytes, over the budget of {limit}; the server closed with 1008"
        )
        await self.client_violation(
            Violation(
                "record-too-large",
                f"the client sent more than the record budget of {limit} bytes "
                f"(max_record_size) allows",
                "pytest-wsmock option max_record_size",
                close_code=1008,
                limit=True,
            )
        )

    def _to_handler(self, frame: Frame) -> None:
        if (self.handler is not None or self.steps is not None) and self.machine.open:
            self.controls.put(frame)

    async def _on_client_close(self, event: CloseEvent) -> None:
        # Look before answering: a FIN already here was sent before the client could have
        # seen our close frame (httpx-ws does that); one that comes later is fair play.
        self.machine.client_fin_seen = (
            self.peer_fin_pending() if self.machine.client_close is None else None
        )
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
            self.machine.client_fin_seen = None
            await self.act(self.machine.handle(StateEvent.HALF_CLOSE))
