"""A lean byte stream for the asyncio backend: asyncio's protocol callbacks, anyio's interface.

Why: anyio's asyncio ``SocketStream`` pauses and resumes reading around every ``receive()``
and passes every ``send()`` through the event loop once more. For a mock server that answers
one small frame with another, those extra loop iterations are most of the cost, and each one
lets the in-process client's threads take the GIL. Measured on loopback (1 KiB echo, client in
the same process): a plain asyncio protocol ~9,500 round trips/s, anyio streams ~3,900. This
stream keeps asyncio's protocol model (read as data arrives; write within the same turn of
the loop; the answers to frames that came in one read joined into one write) behind the
``anyio.abc.SocketStream`` interface the connection driver uses, so TLS and the trio backend
(which keep anyio's own streams) work unchanged.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketStream

#: Stop reading from the socket when this many received bytes wait unread (flow control).
_READ_HIGH_WATER = 4 * 2**20
#: A larger send is handed to the transport in pieces of this size, each once the previous
#: one has drained: asyncio (before 3.12) copies what the socket did not take at once into
#: its buffer, so a 16 MiB frame would otherwise be held twice more (its unsent rest, then
#: the buffer).
WRITE_PIECE = 2**18
#: What the reader asks for at a time: more than asyncio reads at once (256 KiB), so a
#: chunk is never cut in two (each cut copies the rest).
FAST_RECEIVE_SIZE = 2**20
#: Sends up to this size, made in one turn of the event loop, leave in one write (see `send`).
COALESCE_LIMIT = 2**16


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.lost = False
        self.paused_reading = False
        self.reader: asyncio.Future[None] | None = None
        self.drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def _wake_reader(self) -> None:
        if self.reader is not None and not self.reader.done():
            self.reader.set_result(None)

    def _wake_writer(self) -> None:
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(bytes(data))
        self.buffered += len(data)
        if self.buffered > _READ_HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.paused_reading = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return True  # keep our sending side open: the server decides when to close it

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if exc is not None:
            self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        loop = asyncio.get_running_loop()
        self.drain = loop.create_future()

    def resume_writing(self) -> None:
        self._wake_writer()
        self.drain = None


class WriteStalled(Exception):
    """A write waited longer than ``FastSocketStream.write_timeout`` for the peer to read.

    Not an ``OSError`` on purpose: TLS streams turn those into ``BrokenResourceError``."""


class FastSocketStream(SocketStream):
    """An ``anyio.abc.SocketStream`` over an asyncio transport (see the module docstring)."""

    def __init__(
        self, transport: asyncio.Transport, protocol: _Protocol, sock: socket.socket
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        #: Small sends not yet handed to the transport; a flush is scheduled while not None.
        self._pending: list[bytes] | None = None
        #: Set by the reader while it answers several frames that came in one read: their
        #: small sends are joined (see `send`). Otherwise each send is written at once.
        self.coalesce = False
        self._closed = False
        #: Seconds a send may wait for the peer to read (``None``: no bound). Bounding here,
        #: where a send can block, costs nothing on the path that does not block, unlike a
        #: cancel scope around every send.
        self.write_timeout: float | None = None

    @classmethod
    async def accept(cls, sock: socket.socket) -> FastSocketStream:
        """Wrap a connected socket (as returned by ``accept()``)."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.connect_accepted_socket(_Protocol, sock)
        return cls(transport, protocol, sock)

    def peek(self) -> bytes:
        """One pending byte, left in the socket (``b""``: the peer's FIN is next).

        Raises ``BlockingIOError`` when nothing is pending. A single non-blocking ``recv`` on
        the accepted socket (asyncio's transport hides it behind a wrapper that cannot recv).
        """
        return self._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)

    async def receive(self, max_bytes: int = 65536) -> bytes:
        protocol = self._protocol
        if self._pending is not None and not protocol.chunks:
            # About to wait for the peer: what this turn sent leaves now, not a turn later.
            self.flush()
        while not protocol.chunks:
            if self._closed:
                raise anyio.ClosedResourceError
            if protocol.error is not None:
                raise anyio.BrokenResourceError from protocol.error
            if protocol.eof or protocol.lost:
                raise anyio.EndOfStream
            protocol.reader = asyncio.get_running_loop().create_future()
            try:
                await protocol.reader
            finally:
                protocol.reader = None
        chunk = protocol.chunks.popleft()
        if len(chunk) > max_bytes:
            chunk, rest = chunk[:max_bytes], chunk[max_bytes:]
            protocol.chunks.appendleft(rest)
        protocol.buffered -= len(chunk)
        if protocol.paused_reading and protocol.buffered <= _READ_HIGH_WATER // 2:
            protocol.paused_reading = False
            self._transport.resume_reading()
        return chunk

    async def send(self, item: bytes) -> None:
        """Write ``item``.

        While `coalesce` is set (the reader answers several frames that came in one read),
        small sends are joined and handed to the transport together when the reader next
        waits for bytes, or at the end of this turn of the event loop, whichever is first: one
        ``send()`` system call instead of one per frame (each one also lets the in-process
        client's threads take the GIL). Otherwise a send is written at once: a flush scheduled
        for later would cost a turn of the loop of its own. A larger send, ``send_eof`` and
        ``aclose`` flush what is pending first, so the order of bytes never changes. The
        record was written before ``send`` was called.
        """
        protocol = self._protocol
        if self._closed:
            raise anyio.ClosedResourceError
        if protocol.lost or self._transport.is_closing():
            raise anyio.BrokenResourceError from protocol.error
        if self.coalesce and len(item) <= COALESCE_LIMIT and protocol.drain is None:
            if self._pending is None:
                self._pending = [item]
                self._loop.call_soon(self.flush)
            else:
                self._pending.append(item)
            return
        if self._pending is not None:
            self.flush()
        if len(item) <= WRITE_PIECE:
            self._transport.write(item)
            if protocol.drain is not None:
                await self._drain()
            return
        view = memoryview(item)
        for start in range(0, len(item), WRITE_PIECE):
            if protocol.lost or self._transport.is_closing():
                raise anyio.BrokenResourceError from protocol.error
            self._transport.write(view[start : start + WRITE_PIECE])
            if protocol.drain is not None:
                await self._drain()

    def flush(self) -> None:
        """Hand the pending small sends to the transport now, as one write."""
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    async def _drain(self) -> None:
        """The transport's buffer is over its high-water mark: wait for the socket (at most
        ``write_timeout``: for a large send, that bound applies to each piece)."""
        protocol = self._protocol
        assert protocol.drain is not None
        if self.write_timeout is None:
            await protocol.drain
        else:
            try:
                await asyncio.wait_for(asyncio.shield(protocol.drain), self.write_timeout)
            except TimeoutError:
                raise WriteStalled(f"the peer read nothing for {self.write_timeout} s") from None
        if protocol.lost:
            raise anyio.BrokenResourceError from protocol.error

    async def send_eof(self) -> None:
        self.flush()
        if not self._transport.is_closing() and self._transport.can_write_eof():
            # Queued bytes go out first, then the FIN.
            self._transport.write_eof()

    async def aclose(self) -> None:
        self.flush()  # bytes already sent (and recorded) reach the socket, as before
        self._closed = True
        self._transport.abort()
        self._protocol._wake_reader()
        self._protocol._wake_writer()

    @property
    def _raw_socket(self) -> socket.socket:
        sock: socket.socket = self._transport.get_extra_info("socket")
        return sock

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        sock = self._raw_socket
        return {
            SocketAttribute.family: lambda: sock.family,
            SocketAttribute.local_address: lambda: sock.getsockname(),
            SocketAttribute.local_port: lambda: sock.getsockname()[1],
            SocketAttribute.raw_socket: lambda: sock,
            SocketAttribute.remote_address: lambda: sock.getpeername(),
            SocketAttribute.remote_port: lambda: sock.getpeername()[1],
        }


async def serve_asyncio(
    sock: socket.socket,
    handle: Callable[[SocketStream], Any],
    task_group: anyio.abc.TaskGroup,
) -> None:
    """Accept connections on the listening ``sock`` forever, each handled in ``task_group``."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    try:
        while True:
            client, _ = await loop.sock_accept(sock)
            stream = await FastSocketStream.accept(client)
            task_group.start_soon(handle, stream)
    finally:
        sock.close()
