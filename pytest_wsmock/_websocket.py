"""The handler's side of a connection: what an ``async`` handler (or a script) can do."""

from __future__ import annotations

import collections
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

from ._errors import ConnectionClosed
from ._protocol import Opcode, Request, encode_frame
from ._records import Frame, Message
from ._state import State

T = TypeVar("T")

if TYPE_CHECKING:
    from ._connection import Connection
    from ._driver import _Driver


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

    def encode(self) -> bytes:
        return encode_frame(
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


class Inbox(Generic[T]):
    """A one-consumer queue between the reader task and a handler.

    anyio's memory streams pass every receive through the event loop once even when an item
    is waiting; this one waits only when it is empty, which saves a loop iteration per message.
    """

    def __init__(self) -> None:
        self._items: collections.deque[T] = collections.deque()
        self._ready = anyio.Event()
        self._closed = False

    def put(self, item: T) -> None:
        if not self._closed:
            self._items.append(item)
            self._ready.set()

    def close(self) -> None:
        """No more items: a waiting or later ``get`` ends with ``anyio.EndOfStream`` once
        the queued items are taken."""
        self._closed = True
        self._ready.set()

    async def take(self, wanted: Callable[[T], bool]) -> T:
        """The first queued item that ``wanted`` accepts (waiting for one); others stay."""
        while True:
            for index, item in enumerate(self._items):
                if wanted(item):
                    del self._items[index]
                    return item
            if self._closed:
                raise anyio.EndOfStream
            self._ready = anyio.Event()
            await self._ready.wait()

    async def get(self) -> T:
        """The oldest queued item (waiting for one)."""
        return await self.take(_anything)


def _anything(item: object) -> bool:
    return True


class WebSocket:
    """The server's side of one connection, as a handler sees it.

    A handler is an ``async`` function that takes this object; register it with
    :meth:`MockServer.handler`. It runs in the server thread, on the server's event loop.
    Everything it sends is recorded like everything the client sends.
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

    @property
    def compression(self) -> bool:
        """Whether permessage-deflate was negotiated on this connection."""
        return self._driver.deflate is not None

    # -- receiving ------------------------------------------------------------------------

    def _limit(self, timeout: float | None) -> float:
        return self._driver.options.timeout if timeout is None else timeout

    def _closed(self) -> ConnectionClosed:
        code, reason = self._driver.client_close or (None, "")
        return ConnectionClosed(f"{self._driver.conn.label} has closed", code=code, reason=reason)

    async def receive(self, timeout: float | None = None) -> Message:
        """Wait for the client's next data message.

        Args:
            timeout: seconds to wait; the server's ``timeout`` option by default.

        Raises:
            ConnectionClosed: the connection ended before a message came.
            TimeoutError: no message came in time.
        """
        return await self._wait(self._driver.inbox.get(), "a message", timeout)

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
            TimeoutError: none came in time.
        """
        controls = self._driver.controls
        wanted = controls.get() if opcode is None else controls.take(lambda f: f.opcode == opcode)
        return await self._wait(wanted, "a ping or pong", timeout)

    async def _wait(self, item: Awaitable[T], what: str, timeout: float | None) -> T:
        limit = self._limit(timeout)
        try:
            with anyio.fail_after(limit):
                return await item
        except anyio.EndOfStream:
            raise self._closed() from None
        except TimeoutError:
            raise TimeoutError(
                f"waited {limit} s for {what} from the client on {self._driver.conn.label}; "
                f"none came ({self._driver.conn.describe()})"
            ) from None

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> Message:
        """The next message; the iteration ends when the connection closes."""
        try:
            return await self._driver.inbox.get()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    # -- sending ------------------------------------------------------------------------------

    async def send_text(self, text: str, *, compress: bool | None = None) -> None:
        """Send a text message.

        Args:
            text: the message.
            compress: ``None`` compresses when permessage-deflate was negotiated; ``False``
                sends it uncompressed; ``True`` requires compression.
        """
        await self._driver.send_message(Opcode.TEXT, text.encode("utf-8"), compress)

    async def send_binary(self, data: bytes, *, compress: bool | None = None) -> None:
        """Send a binary message (``compress`` as for :meth:`send_text`)."""
        await self._driver.send_message(Opcode.BINARY, bytes(data), compress)

    async def send_json(self, value: Any, *, compress: bool | None = None) -> None:
        """Send ``value`` as a JSON text message."""
        await self.send_text(json.dumps(value), compress=compress)

    async def send(self, message: str | bytes | Message) -> None:
        """Send ``str`` as text, ``bytes`` as binary, or a :class:`Message` as it was."""
        if isinstance(message, Message):
            await self._driver.send_message(message.opcode, message.data, None)
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
        await self._driver.send_message(
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
        closing-handshake checks of strict mode stop applying to this connection.
        """
        frame = OutFrame(opcode, payload, fin, rsv1, rsv2, rsv3, mask_key, length, length_bits)
        await self._driver.send_frames([frame], deliberate=True)

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping; the client's pong is checked against ``payload`` (strict mode)."""
        await self.send_control(Opcode.PING, payload)

    async def pong(self, payload: bytes = b"") -> None:
        """Send an unsolicited pong."""
        await self.send_control(Opcode.PONG, payload)

    async def send_control(self, opcode: Opcode, payload: bytes) -> None:
        """Send one control frame (ping, pong or close) as given, with no checks."""
        await self._driver.send_frames([OutFrame(opcode, payload)])

    async def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Run the closing handshake: send a close frame, wait for the client's, close TCP.

        ``code=None`` sends a close frame with an empty payload.
        """
        await self._driver.close(code, reason)

    async def wait_for_release(self, label: str = "") -> None:
        """Wait until the test calls ``server.release(label)`` (no timeout: the server's
        teardown ends the wait)."""
        await self._driver.server._release_event(label).wait()

    def _ended_after_deliberate_break(self) -> bool:
        """Whether the connection is over and the server had broken the protocol on purpose."""
        driver = self._driver
        return not driver.check_closing and driver.state is not State.OPEN

    def end_after_grace(self) -> None:
        """Close TCP ``violation_grace`` seconds from now unless the connection ends first."""
        self._driver.end_after_grace()
