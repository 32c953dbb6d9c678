"""Live control of every open connection at once: broadcasts, closing all, releases.

`LiveServer` is the part of :class:`MockServer` that acts on connections already open; the
behaviour chosen for new connections is in ``_server.py``, the lifecycle in ``_server_base.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from ._errors import ConnectionClosed
from ._live import Connection, LiveControl, refuse_in_loop
from ._options import ServerOptions
from ._records import CloseInfo
from ._server_base import ServerBase

if TYPE_CHECKING:
    from ._tls import TlsMaterial


class LiveServer(ServerBase):
    """The live-control half of :class:`MockServer` (see its documentation)."""

    def __init__(self, options: ServerOptions | None = None, *, tls: TlsMaterial | None = None):
        super().__init__(options, tls=tls)
        self._controls: list[LiveControl] = []
        self._releases: dict[str, anyio.Event] = {}
        self._released: set[str] = set()

    def _open_connections(self) -> list[Connection]:
        with self._cond:
            return [c for c in self._connections if c.accepted and not c.closed]

    def broadcast_text(self, text: str, *, compress: bool | None = None) -> int:
        """Send a text message to every open connection now; return how many got it
        (a connection that closes meanwhile is skipped)."""
        return self._broadcast(lambda conn: conn.send_text(text, compress=compress))

    def broadcast_binary(self, data: bytes, *, compress: bool | None = None) -> int:
        """Send a binary message to every open connection now; return how many got it."""
        return self._broadcast(lambda conn: conn.send_binary(data, compress=compress))

    def _broadcast(self, send: Callable[[Connection], None]) -> int:
        sent = 0
        for conn in self._open_connections():
            try:
                send(conn)
            except ConnectionClosed:
                continue
            sent += 1
        return sent

    def close_all(self, code: int | None = 1000, reason: str = "") -> list[CloseInfo]:
        """Run the closing handshake from the server's side on every open connection, at
        once, and wait for each to end; return how each ended (one :class:`CloseInfo` per
        connection that was open, in order).

        Raises:
            BlockingCallError: called from a thread that runs an event loop (use
                ``await close_all_async()``).
        """
        refuse_in_loop("server.close_all()", "await server.close_all_async()")
        connections = self._open_connections()
        if connections and self._portal is not None:
            self._portal.call(self._close_all, connections, code, reason)
        return [conn.wait_closed() for conn in connections]

    async def _close_all(
        self, connections: list[Connection], code: int | None, reason: str
    ) -> None:
        async def close_one(conn: Connection) -> None:
            # A connection that ends meanwhile (or cannot be written to) still gets its
            # CloseInfo from the record; no error escapes to the caller.
            engine = self._controls[conn.index].engine
            if engine is not None:
                with contextlib.suppress(ConnectionClosed):
                    await engine.close(code, reason)

        async with anyio.create_task_group() as tg:
            for conn in connections:
                tg.start_soon(close_one, conn)

    async def broadcast_text_async(self, text: str, *, compress: bool | None = None) -> int:
        """The awaitable form of :meth:`broadcast_text`."""
        return await self._waits.in_thread(lambda: self.broadcast_text(text, compress=compress))

    async def broadcast_binary_async(self, data: bytes, *, compress: bool | None = None) -> int:
        """The awaitable form of :meth:`broadcast_binary`."""
        return await self._waits.in_thread(lambda: self.broadcast_binary(data, compress=compress))

    async def close_all_async(self, code: int | None = 1000, reason: str = "") -> list[CloseInfo]:
        """The awaitable form of :meth:`close_all`."""
        return await self._waits.in_thread(lambda: self.close_all(code, reason))

    def release(self, label: str = "") -> None:
        """Let scripts and handlers waiting at ``wait_for_release(label)`` go on.

        A release is remembered: a connection that reaches the step later goes straight on.
        """
        with self._cond:
            self._released.add(label)
            event = self._releases.get(label)
        if event is not None and self._portal is not None:
            self._portal.call(event.set)

    def release_event(self, label: str) -> anyio.Event:
        """The event that ``release(label)`` sets (called in the server thread only)."""
        # Called in the server thread only.
        with self._cond:
            if label not in self._releases:
                self._releases[label] = anyio.Event()
                if label in self._released:
                    self._releases[label].set()
            return self._releases[label]
