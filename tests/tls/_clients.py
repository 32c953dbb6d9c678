"""Four real clients that open a ``wss://`` connection with a given ``ssl.SSLContext``, send
one text and return the echo; on failure they raise whatever the client raises.

Every call is bounded by :data:`TIMEOUT` (open, receive and close timeouts of the client; an
``anyio.fail_after`` around the async ones).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterator

import aiohttp
import anyio
import websocket
import websockets.asyncio.client
import websockets.sync.client

#: Seconds any client call may take.
TIMEOUT = 3.0

Echo = Callable[[str, ssl.SSLContext], str]


def websockets_sync(url: str, context: ssl.SSLContext) -> str:
    """websockets' sync client (in a ``with`` block)."""
    with websockets.sync.client.connect(
        url, ssl=context, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None
    ) as ws:
        ws.send("over tls")
        return str(ws.recv(timeout=TIMEOUT))


def websockets_asyncio(url: str, context: ssl.SSLContext) -> str:
    """websockets' asyncio client, under ``asyncio.run``."""

    async def main() -> str:
        with anyio.fail_after(TIMEOUT * 2):
            async with websockets.asyncio.client.connect(
                url, ssl=context, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None
            ) as ws:
                await ws.send("over tls")
                return str(await ws.recv())

    return asyncio.run(main())


def aiohttp_client(url: str, context: ssl.SSLContext) -> str:
    """aiohttp's ``ws_connect`` with ``ssl=context``, under ``asyncio.run``."""

    async def main() -> str:
        try:
            with anyio.fail_after(TIMEOUT * 2):
                async with (
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session,
                    session.ws_connect(url, ssl=context) as ws,
                ):
                    await ws.send_str("over tls")
                    message = await ws.receive(timeout=TIMEOUT)
                    return str(message.data)
        finally:
            # aiohttp's "graceful shutdown" advice: give the TLS transport a moment to close
            # before the loop ends, or it is left unclosed (a ResourceWarning, measured).
            await asyncio.sleep(0.05)

    return asyncio.run(main())


def websocket_client(url: str, context: ssl.SSLContext) -> str:
    """websocket-client's ``create_connection`` with ``sslopt={"context": context}``."""
    ws = websocket.create_connection(url, timeout=TIMEOUT, sslopt={"context": context})
    try:
        ws.send("over tls")
        return str(ws.recv())
    finally:
        ws.close(timeout=TIMEOUT)


#: Every client, by the name used in test ids.
CLIENTS: dict[str, Echo] = {
    "websockets-sync": websockets_sync,
    "websockets-asyncio": websockets_asyncio,
    "aiohttp": aiohttp_client,
    "websocket-client": websocket_client,
}

#: The clients that run on asyncio's own TLS (``asyncio.sslproto``).
ASYNCIO_CLIENTS = frozenset({"websockets-asyncio", "aiohttp"})


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then its causes and contexts (and aiohttp's wrapped certificate and OS
    errors), outermost first."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [
            current.__cause__,
            current.__context__,
            getattr(current, "certificate_error", None),
            getattr(current, "os_error", None),
        ]
