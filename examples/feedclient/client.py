"""The feed.v1 subscription client.

The protocol, as the (imaginary) feed service speaks it:

1. ``GET <api>/connect`` with ``Authorization: Bearer <token>`` answers ``{"url": "wss://..."}``,
   a WebSocket URL that is valid for one connection.
2. The client connects to that URL offering the subprotocol ``feed.v1`` and sends
   ``{"type": "subscribe", "topics": [...]}``.
3. The server sends ``{"type": "event", "id": ..., "topic": ..., "data": ...}`` envelopes; the
   client acks each one with ``{"type": "ack", "id": ...}`` once the application has handled
   it (when it asks for the next event). The server sends unacked events again after a
   reconnect: delivery is at least once.
4. The server checks that the client is alive with ``{"type": "ping", "id": n}`` every few
   seconds; the client answers ``{"type": "pong", "id": n}``. A server that sends nothing for
   ``idle_timeout`` seconds is taken for dead: the client drops the connection (no closing
   handshake: nobody would answer it) and reconnects.
5. ``{"type": "disconnect"}`` asks the client to reconnect now (the server is about to go
   away); the client closes with 1000 and starts again at step 1.
6. A close with code 1000 ends the feed. Any other ending (a dropped connection, a close
   code other than 1000, a refused or rejected connection) makes the client reconnect after
   an exponential backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
)
from websockets.typing import Subprotocol

SUBPROTOCOL = Subprotocol("feed.v1")

#: Statuses (of the /connect call or of the WebSocket handshake) worth retrying.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

logger = logging.getLogger("feedclient")


class FeedError(Exception):
    """Base class of the client's errors."""


class FeedRejected(FeedError):
    """The service refused the client for good (a 4xx other than 408 and 429)."""

    def __init__(self, status: int, where: str) -> None:
        super().__init__(f"{where} was rejected with HTTP {status}")
        self.status = status


class FeedUnavailable(FeedError):
    """The client gave up after ``max_attempts`` failed connection attempts in a row."""


@dataclass(frozen=True)
class Event:
    """One event envelope from the feed."""

    id: str
    topic: str
    data: Any


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``initial * factor ** (n - 1)`` seconds before retry ``n``, at most
    ``maximum``; with ``jitter``, a random part of it (between half and all) is used instead,
    so that many clients do not reconnect in step."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: bool = True

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (from 1)."""
        delay = min(self.maximum, self.initial * self.factor ** (retry - 1))
        return delay * (0.5 + rand() / 2) if self.jitter else delay


class _Reconnect(Exception):
    """Internal: the server asked the client to reconnect at once."""


class _TryAgain(Exception):
    """Internal: this attempt failed in a way worth retrying after a backoff."""


#: What a failed attempt raises when it is worth another one.
_RETRYABLE_ERRORS = (
    _TryAgain,
    OSError,
    InvalidHandshake,
    ConnectionClosedError,
    httpx.TransportError,
)


class FeedClient:
    """Subscribes to ``topics`` and yields their events, reconnecting as needed.

    ``api_url`` is the service's HTTP(S) base URL; the client asks ``<api_url>/connect`` for a
    WebSocket URL before each connection. A ``ws://`` or ``wss://`` ``api_url`` is used as the
    WebSocket URL directly (for self-hosted feeds). The token goes in an ``Authorization``
    header of both requests.
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        topics: Sequence[str],
        *,
        ssl_context: ssl.SSLContext | None = None,
        backoff: Backoff | None = None,
        max_attempts: int = 5,
        timeout: float = 10.0,
        idle_timeout: float = 30.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.topics = list(topics)
        self.ssl_context = ssl_context
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        #: Every backoff delay slept so far, in order (for logs and tests).
        self.retry_delays: list[float] = []
        #: How many connections were opened (accepted handshakes), reconnections included.
        self.connections = 0

    async def events(self) -> AsyncGenerator[Event, None]:
        """Yield events until the server ends the feed (close 1000).

        Raises:
            FeedRejected: the service refused the token or the request (not retried).
            FeedUnavailable: ``max_attempts`` attempts in a row failed.
        """
        failures = 0
        while True:
            opened = self.connections
            try:
                async with aclosing(self._connection()) as events:
                    async for event in events:
                        yield event
                return
            except _Reconnect:
                failures = 0
                continue
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status not in RETRYABLE_STATUSES:
                    raise FeedRejected(status, "the WebSocket handshake") from exc
                error: Exception = exc
            except _RETRYABLE_ERRORS as exc:
                if _certificate_error(exc):
                    raise FeedError(f"the server's certificate was refused: {exc}") from exc
                error = exc
            failures = 1 if self.connections > opened else failures + 1
            if failures >= self.max_attempts:
                raise FeedUnavailable(f"gave up after {failures} failed attempts") from error
            delay = self.backoff.delay(failures)
            logger.info("feed connection failed (%r); retrying in %.3f s", error, delay)
            self.retry_delays.append(delay)
            await asyncio.sleep(delay)

    async def _connection(self) -> AsyncGenerator[Event, None]:
        """One connection: open it, subscribe, then handle messages until it ends."""
        url = await self._fetch_url()
        ws = await connect(
            url,
            subprotocols=[SUBPROTOCOL],
            additional_headers={"Authorization": f"Bearer {self.token}"},
            ssl=self.ssl_context if url.startswith("wss:") else None,
            open_timeout=self.timeout,
            close_timeout=self.timeout,
        )
        # Not `async with connect(...)`: that closes with 1011 (internal error) when the app
        # stops reading early (GeneratorExit), and the server would log an error.
        try:
            self.connections += 1
            await _send(ws, {"type": "subscribe", "topics": self.topics})
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), self.idle_timeout)
                except ConnectionClosedOK:
                    break
                except asyncio.TimeoutError:  # (TimeoutError itself from Python 3.11 on)
                    ws.transport.abort()
                    raise _TryAgain(f"the server sent nothing for {self.idle_timeout} s") from None
                try:
                    message = json.loads(raw)
                    kind = message["type"]
                except (ValueError, TypeError, KeyError):
                    logger.warning("ignoring a message that is not a feed.v1 envelope: %r", raw)
                    continue
                if kind == "ping":
                    await _send(ws, {"type": "pong", "id": message.get("id")})
                elif kind == "event":
                    yield Event(message["id"], message.get("topic", ""), message.get("data"))
                    await _send(ws, {"type": "ack", "id": message["id"]})
                elif kind == "disconnect":
                    logger.info("the server asked for a reconnect: %s", message.get("reason"))
                    await ws.close(1000, "reconnecting")
                    raise _Reconnect
                else:
                    logger.debug("ignoring a %r message", kind)
            if ws.close_code != 1000:
                raise _TryAgain(f"the server closed the connection with {ws.close_code}")
        finally:
            await ws.close()  # 1000; nothing to do when already closed

    async def _fetch_url(self) -> str:
        """The WebSocket URL for the next connection."""
        if urlsplit(self.api_url).scheme in ("ws", "wss"):
            return self.api_url
        verify: ssl.SSLContext | bool = self.ssl_context or True
        async with httpx.AsyncClient(timeout=self.timeout, verify=verify) as http:
            response = await http.get(
                f"{self.api_url}/connect", headers={"Authorization": f"Bearer {self.token}"}
            )
        if response.status_code in RETRYABLE_STATUSES:
            raise _TryAgain(f"/connect answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise FeedRejected(response.status_code, "the /connect call")
        url = response.json().get("url")
        if not isinstance(url, str):
            raise FeedError(f"/connect gave no URL: {response.text!r}")
        return url


def _certificate_error(exc: BaseException) -> bool:
    """Whether ``exc`` is (or wraps) a refused TLS certificate, which no retry will fix."""
    causes = (exc, exc.__cause__, exc.__context__)
    return any(isinstance(cause, ssl.SSLCertVerificationError) for cause in causes)


async def _send(ws: ClientConnection, message: dict[str, Any]) -> None:
    """Send ``message``; when the connection has ended, drop it: the next ``recv()`` says how
    the connection ended, and the server sends unacked events again."""
    with suppress(ConnectionClosed):
        await ws.send(json.dumps(message))
