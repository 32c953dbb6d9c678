"""The handler's side of a connection: what an ``async`` handler, a script step or a fault can do.

`WebSocket` is the one public, typed context through which handlers, steps, frame violations
and faults act on a connection. It delegates to a `Link`, a small Protocol that the engine
implements and passes down (the engine sits above this module and is never imported here).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ._connection import ConnectionRecord
from ._protocol import Opcode, Request, encode_frame_parts
from ._records import Frame, Message


@dataclass(frozen=True, slots=True)
class OutFrame:
    """A frame the server writes, legal or not (see :func:`encode_frame` for the fields)."""

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    mask_key: bytes | None = None
    length: int | None = None
    length_bits: int | None = None

    def encode(self) -> tuple[bytes, bytes]:
        """The header and the payload as on the wire, apart (see `encode_frame_parts`)."""
        return encode_frame_parts(
            self.opcode,
            self.payload,
            fin=self.fin,
            rsv1=self.rsv1,
            rsv2=self.rsv2,
            rsv3=self.rsv3,
            mask_key=self.mask_key,
            length=self.length,
            length_bits=self.length_bits,
        )


class Transport(Protocol):
    """Low-level control of one connection's TCP stream, for transport faults.

    You get it as :attr:`WebSocket.transport`; the ``Fault`` steps use it, and so can a step
    or handler of your own that needs TCP to misbehave in a way the catalogue does not have.
    """

    async def send_frames(self, frames: Sequence[OutFrame], *, deliberate: bool) -> None:
        """Write these frames in order, as they are (``deliberate``: they break the protocol
        on purpose, so the client may drop TCP without a closing handshake)."""

    async def abort(self, *, reset: bool = False) -> None:
        """Close the socket now, without a closing handshake (``reset``: with an RST)."""

    async def half_close(self) -> None:
        """Send our FIN now and keep reading."""

    async def send_close_frame(self, code: int, *, keep_tcp_open: bool = False) -> None:
        """Write a close frame; ``keep_tcp_open``: never close TCP after it, even once the
        client answers."""

    def freeze_input(self) -> None:
        """From now on, count what the client sends without parsing it or reacting to the end
        of its stream (for a fault that ends the connection itself right after)."""

    def hold_close_reply(self) -> None:
        """From now on, do not answer the client's close frame."""

    async def pause_reading(self, seconds: float | None, *, block_writes: bool = False) -> None:
        """Stop reading from the client for ``seconds`` (``None``: for good); with
        ``block_writes``, hold the writes too and return when the pause ends."""

    def shape_writes(
        self,
        *,
        delay: float | None = None,
        chunks: tuple[int, float] | None = None,
        split_interval: float | None = None,
    ) -> None:
        """From now on: wait ``delay`` before each write; write ``chunks`` of (size, interval);
        put ``split_interval`` seconds between a frame's header and its payload."""

    def note(self, text: str) -> None:
        """Add a note to the connection's record."""


class Link(Transport, Protocol):
    """What a `WebSocket` needs from the engine that drives its connection."""

    @property
    def record(self) -> ConnectionRecord: ...

    @property
    def default_timeout(self) -> float: ...

    @property
    def compression(self) -> bool: ...

    @property
    def client_close(self) -> tuple[int | None, str] | None: ...

    @property
    def is_open(self) -> bool: ...

    @property
    def excused(self) -> bool: ...

    async def receive(self, timeout: float | None) -> Message: ...

    async def receive_control(self, timeout: float | None, opcode: Opcode | None) -> Frame: ...

    async def next_message(self) -> Message | None: ...

    async def send_message(
        self,
        opcode: Opcode,
        data: bytes,
        compress: bool | None,
        *,
        fragments: Sequence[int] = (),
        ping_between: bytes | None = None,
    ) -> None: ...

    async def close(self, code: int | None, reason: str) -> None: ...

    async def wait_for_release(self, label: str) -> None: ...

    async def pause(self, seconds: float) -> None: ...

    def end_after_grace(self) -> None: ...


class WebSocket:
    """The server's side of one connection, as a handler sees it.

    A handler is an ``async`` function that takes this object; register it with
    :meth:`MockServer.handler`. It runs in the server thread, on the server's event loop.
    Everything it sends is recorded like everything the client sends. You do not build one:
    the server passes it to handlers, ``call(...)`` steps and ``Step.run``.
    """

    def __init__(self, link: Link) -> None:
        self._link = link

    @property
    def connection(self) -> ConnectionRecord:
        """The record of this connection (what the test sees)."""
        return self._link.record

    @property
    def request(self) -> Request:
        """The opening-handshake request."""
        request = self._link.record.request
        assert request is not None
        return request

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server selected, if any."""
        return self._link.record.subprotocol

    @property
    def compression(self) -> bool:
        """Whether permessage-deflate was negotiated on this connection."""
        return self._link.compression

    @property
    def default_timeout(self) -> float:
        """The server's ``timeout`` option: how long waits last when not told otherwise."""
        return self._link.default_timeout

    @property
    def client_close(self) -> tuple[int | None, str] | None:
        """``(code, reason)`` of the client's close frame once it came, else ``None``."""
        return self._link.client_close

    @property
    def open(self) -> bool:
        """Whether messages may still be sent: ``False`` once either side sent a close frame
        or TCP ended (nothing is sent after a close frame, RFC 6455 section 5.5.1)."""
        return self._link.is_open

    @property
    def broke_protocol(self) -> bool:
        """Whether the server broke the protocol on purpose on this connection (a frame
        violation, a fault, a broken handshake answer): the client may then leave without a
        closing handshake."""
        return self._link.excused

    @property
    def transport(self) -> Transport:
        """Low-level TCP control, for faults (see :class:`Transport`)."""
        return self._link

    # -- receiving ------------------------------------------------------------------------

    async def receive(self, timeout: float | None = None) -> Message:
        """Wait for the client's next data message.

        Args:
            timeout: seconds to wait; the server's ``timeout`` option by default.

        Raises:
            ConnectionClosed: the connection ended before a message came.
            WaitTimeout: no message came in time (a ``TimeoutError`` too).
        """
        return await self._link.receive(timeout)

    async def receive_control(
        self, timeout: float | None = None, *, opcode: Opcode | None = None
    ) -> Frame:
        """Wait for the client's next ping or pong frame (already answered and recorded).

        Args:
            timeout: seconds to wait; the server's ``timeout`` option by default.
            opcode: only a ping (``Opcode.PING``) or only a pong; frames of the other kind
                stay queued for a later call.

        Raises:
            ConnectionClosed: the connection ended first.
            WaitTimeout: none came in time (a ``TimeoutError`` too).
        """
        return await self._link.receive_control(timeout, opcode)

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> Message:
        """The next message; the iteration ends when the connection closes."""
        message = await self._link.next_message()
        if message is None:
            raise StopAsyncIteration
        return message

    # -- sending ------------------------------------------------------------------------------

    async def send_text(self, text: str, *, compress: bool | None = None) -> None:
        """Send a text message.

        Args:
            text: the message.
            compress: ``None`` compresses when permessage-deflate was negotiated; ``False``
                sends it uncompressed; ``True`` requires compression.

        Raises:
            ConnectionClosed: the connection has ended, or is closing (nothing is sent after
                a close frame).
        """
        await self._link.send_message(Opcode.TEXT, text.encode("utf-8"), compress)

    async def send_binary(self, data: bytes, *, compress: bool | None = None) -> None:
        """Send a binary message (``compress`` as for :meth:`send_text`)."""
        await self._link.send_message(Opcode.BINARY, bytes(data), compress)

    async def send_json(self, value: Any, *, compress: bool | None = None) -> None:
        """Send ``value`` as a JSON text message."""
        await self.send_text(json.dumps(value), compress=compress)

    async def send(self, message: str | bytes | Message) -> None:
        """Send ``str`` as text, ``bytes`` as binary, or a :class:`Message` as it was."""
        if isinstance(message, Message):
            await self._link.send_message(message.opcode, message.data, None)
        elif isinstance(message, str):
            await self.send_text(message)
        else:
            await self.send_binary(message)

    async def send_fragmented(
        self,
        message: str | bytes,
        sizes: Sequence[int],
        *,
        ping_between: bytes | None = None,
        compress: bool | None = None,
    ) -> None:
        """Send one message as several frames.

        Args:
            message: ``str`` for text, ``bytes`` for binary.
            sizes: payload size of each fragment (after compression, when compressed); bytes
                left over go in a last fragment.
            ping_between: when given, a ping with this payload goes between fragments
                (RFC 6455 section 5.4 allows control frames there).
            compress: as for :meth:`send_text`.
        """
        opcode = Opcode.TEXT if isinstance(message, str) else Opcode.BINARY
        data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        await self._link.send_message(
            opcode, data, compress, fragments=sizes, ping_between=ping_between
        )

    async def send_frame(
        self,
        opcode: int,
        payload: bytes = b"",
        *,
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
        mask_key: bytes | None = None,
        length: int | None = None,
        length_bits: int | None = None,
    ) -> None:
        """Write one raw frame exactly as described, legal or not, for deliberate violations.

        Args:
            opcode: any value 0-15, reserved ones included.
            payload: the payload (masked on the wire when ``mask_key`` is given).
            fin: the FIN bit.
            rsv1: the RSV1 bit.
            rsv2: the RSV2 bit.
            rsv3: the RSV3 bit.
            mask_key: 4 bytes to mask with (servers must not mask: RFC 6455 section 5.1).
            length: the length written in the header, when it should lie.
            length_bits: force the 7-, 16- or 64-bit length form.

        After such a frame the client may fail the connection by dropping TCP, so the
        closing-handshake checks of strict mode stop applying to this connection. A close
        frame sent this way is the server's close frame: the closing handshake starts.
        """
        frame = OutFrame(opcode, payload, fin, rsv1, rsv2, rsv3, mask_key, length, length_bits)
        await self._link.send_frames([frame], deliberate=True)

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping; the client's pong is checked against ``payload`` (strict mode)."""
        await self.send_control(Opcode.PING, payload)

    async def pong(self, payload: bytes = b"") -> None:
        """Send an unsolicited pong."""
        await self.send_control(Opcode.PONG, payload)

    async def send_control(self, opcode: Opcode, payload: bytes) -> None:
        """Send one control frame (ping, pong or close) as given, with no checks. A close
        frame starts the closing handshake, as :meth:`close` does."""
        await self._link.send_frames([OutFrame(opcode, payload)], deliberate=False)

    async def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Run the closing handshake: send a close frame, wait for the client's, close TCP.

        ``code=None`` sends a close frame with an empty payload. Returns once the connection
        has ended, at the latest ``close_timeout`` after the close frame.
        """
        await self._link.close(code, reason)

    async def wait_for_release(self, label: str = "") -> None:
        """Wait until the test calls ``server.release(label)`` (no timeout: the server's
        teardown ends the wait)."""
        await self._link.wait_for_release(label)

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the connection stops being open first (either side
        sent its close frame, or TCP ended: there is nothing to wait for then)."""
        await self._link.pause(seconds)

    def end_after_grace(self) -> None:
        """Close TCP ``violation_grace`` seconds from now unless the connection ends first."""
        self._link.end_after_grace()
