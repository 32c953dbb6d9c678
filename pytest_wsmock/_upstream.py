"""The proxy's upstream leg: a WebSocket client connection to the real service, recorded.

Theory of operation. `Upstream.connect` dials the ``ws://`` or ``wss://`` URL, writes the
client role's opening request (`build_request`), reads and judges the answer
(`ResponseParser`, `check_response`) and raises `UpstreamError`, with a cause in words, for
anything but a correct 101. After that the leg is a small client-side byte pump: `send`
masks (and compresses) a message, `receive` reads frames until a data message is complete,
answering pings and the upstream's close frame itself. The leg is recorded in a
`ConnectionRecord` from the wire's point of view: ``Direction.CLIENT`` is what we sent
upstream, ``Direction.SERVER`` what the upstream sent. Record before bytes: every frame we
write is in the record before it leaves, every frame read is recorded as it is read.

One task may `receive` while others `send`; `close` waits for a reading task to see the
upstream's answer, or reads itself. Every wait is bounded (``timeout``, ``close_timeout``).
"""

from __future__ import annotations

import contextlib
import socket
import ssl as ssl_module
import struct
import threading
import time
from collections import deque
from collections.abc import Sequence

import anyio
from anyio.abc import ByteStream, SocketAttribute

from ._connection import ConnectionRecord
from ._errors import ConnectionClosed
from ._protocol import (
    ClientHandshake,
    CloseEvent,
    Event,
    FrameDecoder,
    MessageAssembler,
    MessageEvent,
    Opcode,
    PerMessageDeflate,
    PingEvent,
    RawFrame,
    Violation,
    build_close_payload,
    encode_client_frame,
    opcode_name,
)
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message
from ._upstream_open import UpstreamError, open_upstream

__all__ = ["Upstream", "UpstreamError"]

_READ_SIZE = 65536
#: What a read raises once the connection is gone (EndOfStream: an orderly end).
_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


class Upstream:
    """An open WebSocket connection to the upstream server (build it with `connect`).

    Attributes:
        url: The URL dialled.
        record: The upstream leg as data (``Direction.CLIENT``: what we sent upstream).
        response: The upstream's 101 answer.
        subprotocol: The subprotocol the upstream chose, or ``None``.
        extensions: The ``Sec-WebSocket-Extensions`` value it answered, or ``None``.
        close_code: The code of the upstream's close frame (``None``: none yet, or no code).
        close_reason: The reason of the upstream's close frame.
    """

    def __init__(
        self,
        url: str,
        stream: ByteStream,
        record: ConnectionRecord,
        response: HandshakeResponse,
        handshake: ClientHandshake,
        trailing: bytes,
        *,
        timeout: float,
        max_message_size: int | None,
    ) -> None:
        self.url = url
        self.record = record
        self.response = response
        self.subprotocol = handshake.subprotocol
        self.extensions = handshake.extensions
        self.close_code: int | None = None
        self.close_reason = ""
        self.timeout = timeout
        self._stream = stream
        self._trailing = trailing
        params = handshake.deflate
        self._deflate = None if params is None else PerMessageDeflate(params, role="client")
        self._decoder = FrameDecoder(role="client", max_frame_size=max_message_size)
        self._assembler = MessageAssembler(
            require_masked=False, max_message_size=max_message_size, deflate=self._deflate
        )
        self._pending: deque[str | bytes] = deque()
        self._write_lock = anyio.Lock()
        self._read_lock = anyio.Lock()
        self._sent_close: tuple[int | None, str] | None = None
        self._got_close: tuple[int | None, str] | None = None
        self._initiator: Direction | None = None
        self._input_done = False
        self._failed = False  # the upstream broke a rule: we close TCP at once
        self._eof_from: Direction | None = None  # who ended TCP first
        self._reset = False
        self._ended = anyio.Event()
        self._frame_time = 0.0  # when the last frame read was recorded

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        target: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        headers: Sequence[tuple[str, str]] = (),
        subprotocols: Sequence[str] = (),
        deflate: bool = False,
        timeout: float = 10.0,
        max_message_size: int | None = None,
        cond: threading.Condition | None = None,
    ) -> Upstream:
        """Open a WebSocket connection to ``url`` (``ws://`` or ``wss://``).

        Args:
            url: Where to connect; its path and query are the request target.
            target: A path and query that replaces the URL's (the client's, in a proxy).
            ssl: The context for ``wss://`` (default: the system's trusted CAs).
            headers: More request headers (e.g. the client's ``Authorization``); see
                `build_request` for the ones that replace ours.
            subprotocols: Subprotocols to offer, in preference order.
            deflate: Offer permessage-deflate.
            timeout: Bound on connecting plus the opening handshake, and on each write.
            max_message_size: Largest message accepted from the upstream (``None``: any).
            cond: The condition the record notifies (a server's, so waits see this leg).

        Raises:
            UpstreamError: The connection was refused, timed out, failed TLS, or the answer
                was not a correct 101; ``cause`` says which in words.
            ConfigError: ``url`` is not a ``ws://`` or ``wss://`` URL.
        """
        opened = await open_upstream(
            url,
            target=target,
            context=ssl,
            headers=headers,
            subprotocols=subprotocols,
            deflate=deflate,
            timeout=timeout,
            cond=cond or threading.Condition(),
        )
        return cls(
            url,
            opened.stream,
            opened.record,
            opened.response,
            opened.handshake,
            opened.trailing,
            timeout=timeout,
            max_message_size=max_message_size,
        )

    @property
    def close_frame(self) -> tuple[int | None, str] | None:
        """``(code, reason)`` of the upstream's close frame once it came (``code`` ``None``:
        a close frame without a status code), else ``None``."""
        return self._got_close

    @property
    def closed(self) -> bool:
        """Whether the connection has ended (the record is final)."""
        return self._ended.is_set()

    def __repr__(self) -> str:
        return f"<Upstream {self.url}: {self.record.describe()}>"

    # -- sending ----------------------------------------------------------------------------

    async def send(self, message: str | bytes) -> None:
        """Send one data message, masked, compressed when permessage-deflate is in force.

        Raises:
            ConnectionClosed: We sent a close frame already, or the connection has ended.
        """
        opcode = Opcode.TEXT if isinstance(message, str) else Opcode.BINARY
        data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        async with self._write_lock:
            self._check_open(f"send {opcode.name}")
            compressed = self._deflate is not None
            # Compressed under the lock, so the shared context follows the wire order.
            payload = self._deflate.compress(data) if self._deflate is not None else data
            record = Message(Direction.CLIENT, opcode, data, compressed, 1, time.monotonic())
            await self._write(opcode, payload, rsv1=compressed, message=record)

    def _check_open(self, action: str) -> None:
        if self._ended.is_set() or self._eof_from is not None:
            raise ConnectionClosed(f"upstream {self.url}", action, "closed")
        if self._sent_close is not None:
            raise ConnectionClosed(f"upstream {self.url}", action, "closing (close frame sent)")

    async def _write(
        self, opcode: int, payload: bytes, *, rsv1: bool = False, message: Message | None = None
    ) -> None:
        """Record, then write, one frame (the write lock is held)."""
        data = encode_client_frame(opcode, payload, rsv1=rsv1)
        header = data[: len(data) - len(payload)]
        frame = Frame(
            Direction.CLIENT,
            opcode,
            True,
            rsv1,
            False,
            False,
            True,
            header[-4:],
            payload,
            header,
            time.monotonic(),
        )
        self.record.record_frame(frame)
        if message is not None:
            self.record.record_message(message)
        failure = ""
        try:
            with anyio.move_on_after(self.timeout) as scope:
                await self._stream.send(data)
            if scope.cancelled_caught:
                failure = f"did not finish within {self.timeout} s: the upstream is not reading"
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            failure = f"failed: {exc!r}"
        if failure:
            self.record.note(f"writing {opcode_name(opcode)} upstream {failure}")
            self._input_done = True
            await self._shutdown(Direction.CLIENT)
            raise ConnectionClosed(f"upstream {self.url}", f"send {opcode_name(opcode)}", "broken")

    async def _send_close(self, code: int | None, reason: str) -> None:
        async with self._write_lock:
            if self._sent_close is not None or self._ended.is_set() or self._eof_from:
                return
            self._sent_close = (code, reason)
            self._initiator = self._initiator or Direction.CLIENT
            with contextlib.suppress(ConnectionClosed):
                await self._write(Opcode.CLOSE, build_close_payload(code, reason))

    # -- receiving --------------------------------------------------------------------------

    async def receive(self) -> str | bytes | None:
        """The next data message from the upstream: ``str`` for text, ``bytes`` for binary.

        Pings are answered with pongs, and the upstream's close frame with ours. Returns
        ``None`` once the upstream sent a close frame (`close_code` holds it), broke the
        protocol (the record lists the violation), or TCP ended.
        """
        async with self._read_lock:
            while not self._pending and not self._input_done:
                await self._read_once()
            if self._pending:
                return self._pending.popleft()
            if not self._ended.is_set():
                await self._end_input()
            return None

    async def _read_once(self) -> None:
        """Read once and handle what it completes (the read lock is held)."""
        if self._trailing:
            data, self._trailing = self._trailing, b""
        else:
            try:
                data = await self._stream.receive(_READ_SIZE)
            except _GONE as exc:
                self._tcp_ended(reset=not isinstance(exc, anyio.EndOfStream))
                return
        events: list[Event] = []
        for item in self._decoder.feed(data):
            if isinstance(item, RawFrame):
                self._record_frame(item)
                events += self._assembler.receive(item)
            else:
                events.append(item)
        for event in events:
            await self._handle(event)
        if self._input_done:
            await self._end_input()

    def _tcp_ended(self, *, reset: bool) -> None:
        if self._ended.is_set():
            self._input_done = True  # we closed it ourselves (close timed out, abort)
            return
        self._eof_from = self._eof_from or Direction.SERVER
        self._reset = self._reset or reset
        if self._got_close is None and not self._input_done:
            how = "reset the connection" if reset else "closed TCP"
            self.record.note(f"the upstream {how} without a close frame")
        self._input_done = True

    def _record_frame(self, raw: RawFrame) -> None:
        # A message read is timed as its last frame, as the server's records of the client's
        # messages are (the transcript pairs frames and messages by time).
        self._frame_time = time.monotonic()
        self.record.record_frame(
            Frame(
                Direction.SERVER,
                raw.opcode,
                raw.fin,
                raw.rsv1,
                raw.rsv2,
                raw.rsv3,
                raw.masked,
                raw.mask_key,
                raw.payload,
                raw.header,
                self._frame_time,
            )
        )

    async def _handle(self, event: Event) -> None:
        if self._got_close is not None:
            return  # nothing counts after the upstream's close frame
        if isinstance(event, MessageEvent):
            self.record.record_message(
                Message(
                    Direction.SERVER,
                    event.opcode,
                    event.data,
                    event.compressed,
                    event.frames,
                    self._frame_time,
                )
            )
            if not self._failed:
                self._pending.append(event.text if event.opcode is Opcode.TEXT else event.data)
        elif isinstance(event, PingEvent):
            async with self._write_lock:
                if self._sent_close is None and not self._ended.is_set():
                    with contextlib.suppress(ConnectionClosed):
                        await self._write(Opcode.PONG, event.payload)
        elif isinstance(event, CloseEvent):
            self._got_close = (event.code, event.reason)
            self.close_code, self.close_reason = event.code, event.reason
            self._initiator = self._initiator or Direction.SERVER
            self._input_done = True
            # RFC 6455 section 5.5.1: answer with a close frame, echoing the status code.
            await self._send_close(event.code if event.valid else 1002, "")
        elif isinstance(event, Violation):
            self.record.violation(event)
            self.record.note(f"the upstream broke the protocol: {event}")
            if event.fatal:
                self._failed = True
                self._input_done = True
                # RFC 6455 section 7.1.7: fail the connection, with a close frame if possible.
                await self._send_close(event.close_code or 1002, "")

    async def _end_input(self) -> None:
        """Input is over: wait (bounded) for the upstream to end TCP, then close ours."""
        if self._eof_from is None and not self._failed and not self._ended.is_set():
            # RFC 6455 section 7.1.1: after the closing handshake the server closes TCP first.
            with anyio.move_on_after(self.timeout):
                while self._eof_from is None and not self._ended.is_set():
                    try:
                        await self._stream.receive(_READ_SIZE)
                    except _GONE as exc:
                        self._tcp_ended(reset=not isinstance(exc, anyio.EndOfStream))
        await self._shutdown(Direction.CLIENT)

    # -- closing ------------------------------------------------------------------------------

    async def close(
        self, code: int | None = 1000, reason: str = "", *, timeout: float = 5.0
    ) -> None:
        """Close: send a close frame, wait for the upstream's and for TCP to end (at most
        ``timeout``), then close TCP. Idempotent; returns once the record is final."""
        if self._ended.is_set():
            return
        await self._send_close(code, reason)
        with anyio.move_on_after(timeout):
            if self._read_lock.locked():
                await self._ended.wait()  # the reading task sees the answer and ends it
            else:
                async with self._read_lock:
                    while not self._ended.is_set():
                        if self._input_done:
                            await self._end_input()
                        else:
                            await self._read_once()
        if not self._ended.is_set():
            self.record.note(f"the upstream did not finish the closing handshake in {timeout} s")
            await self._shutdown(Direction.CLIENT)

    async def abort(self, *, reset: bool = True) -> None:
        """End TCP at once without a close frame: with a reset (RST), or (``reset=False``)
        with a FIN."""
        if self._ended.is_set():
            return
        if reset:
            with contextlib.suppress(Exception):
                raw = self._stream.extra(SocketAttribute.raw_socket)
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self._reset = True
        how = "reset" if reset else "closed TCP of"
        self.record.note(f"the proxy {how} the upstream connection without a close frame")
        await self._shutdown(Direction.CLIENT)

    async def _shutdown(self, by: Direction) -> None:
        """Close TCP (once) and write how the connection ended: the record is final."""
        if self._ended.is_set():
            return
        self._ended.set()
        self._input_done = True
        self._eof_from = self._eof_from or by
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(self.timeout),
            contextlib.suppress(Exception),
        ):
            await self._stream.aclose()
        ours = self._sent_close or (None, "")
        theirs = self._got_close or (None, "")
        self.record.finish(
            CloseInfo(
                initiator=self._initiator,
                client_sent=self._sent_close is not None,
                client_code=ours[0],
                client_reason=ours[1],
                server_sent=self._got_close is not None,
                server_code=theirs[0],
                server_reason=theirs[1],
                tcp_closed_by=self._eof_from,
                tcp_end="rst" if self._reset else "fin",
            )
        )
