"""Ready-made handlers for :meth:`MockServer.handler`, and what makes a handler run inline."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._records import Message
from ._websocket import WebSocket


@runtime_checkable
class InlineHandler(Protocol):
    """A handler that answers each client message on its own, with no state between messages.

    Such a handler also has an ``on_message`` coroutine method; the server then calls it from
    the task that reads the connection, message by message, instead of running the handler in
    a task of its own: the same behaviour without a task switch per message.
    """

    async def __call__(self, ws: WebSocket) -> None: ...

    async def on_message(self, ws: WebSocket, message: Message) -> None: ...


class _Echo:
    """Send every message back as it came: text as text, binary as binary, of any size and
    fragmentation. Ends when the client closes."""

    __name__ = "echo"

    async def __call__(self, ws: WebSocket) -> None:
        async for message in ws:
            await ws.send(message)

    async def on_message(self, ws: WebSocket, message: Message) -> None:
        await ws.send(message)

    def __repr__(self) -> str:
        return "echo"


#: Send every message back as it came: text as text, binary as binary, of any size and
#: fragmentation. Ends when the client closes. Runs inline (see :class:`InlineHandler`).
echo = _Echo()


async def silent(ws: WebSocket) -> None:
    """Record everything, say nothing, and keep the connection open until the client closes."""
    async for _ in ws:
        pass
