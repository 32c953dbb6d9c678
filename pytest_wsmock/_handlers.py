"""Ready-made handlers for :meth:`MockServer.handler`."""

from __future__ import annotations

from ._websocket import WebSocket


async def echo(ws: WebSocket) -> None:
    """Send every message back as it came: text as text, binary as binary, of any size and
    fragmentation. Ends when the client closes."""
    async for message in ws:
        await ws.send(message)


async def silent(ws: WebSocket) -> None:
    """Record everything, say nothing, and keep the connection open until the client closes."""
    async for _ in ws:
        pass
