"""The proxy: each client connection relayed to an upstream WebSocket server (docs/proxy.md).

A :class:`Proxy` is set up by ``ws_server.proxy_to(url)``. For each WebSocket request it
connects upstream before answering (the engine's ``prepare`` hook), passing on the path and
query, the subprotocols and the chosen headers; it answers the client as the upstream
answered (its subprotocol, a refusal's status and body), or with ``502 Bad Gateway`` naming
the cause when the upstream could not be reached or answered wrongly. Then
:meth:`ProxySession.relay` (the connection's handler) carries every message both ways, and
each side's close to the other.

On the way, the proxy applies what the test set: steps (faults, sends, closes) run on the
client's leg after the Nth upstream message, a delay or a byte rate per direction, rules on
upstream messages (answer or rewrite instead of relaying), and a rewrite function. Rules on
client messages are the server's ordinary rules (``ws_server.on``): a consumed message is
answered and not relayed.

Both legs are recorded: the client's as every connection is, the upstream's in
``conn.upstream`` (a record from the wire's point of view: its ``sent`` messages are the
upstream's). Relaying follows the engine's rule: a message is in the upstream's record before
its bytes leave for the upstream, and in the client's record before they leave for the client.
"""

from __future__ import annotations

import contextlib
import math
import ssl as _ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import anyio

from ._cassette import CassetteRequest
from ._connection import ConnectionRecord
from ._errors import ConfigError, ConnectionClosed
from ._handshakes import Handshake
from ._protocol import Opcode, Request
from ._records import Direction, HandshakeResponse, Message
from ._rules import Response, Rule, rule
from ._steps import Step, check_steps
from ._upstream import Upstream, UpstreamError
from ._websocket import WebSocket

#: Which way a message travels through the proxy.
Way = Literal["to_client", "to_upstream"]
WAYS: tuple[Way, ...] = ("to_client", "to_upstream")

#: Request headers the proxy passes upstream besides the WebSocket ones it writes itself:
#: what a real service may need (credentials, cookies, origin, user agent). Others (Host,
#: Sec-WebSocket-Key, hop-by-hop headers) are the proxy's own.
FORWARDED_HEADERS = (
    "Authorization",
    "Cookie",
    "Origin",
    "User-Agent",
    "Accept-Language",
    "X-Api-Key",
    "Api-Key",
)

#: A rewrite: the message's text or bytes in, what to relay out (``None``: relay nothing).
Rewrite = Callable[[str | bytes], "str | bytes | None"]


def _check_way(way: object) -> Way:
    if way not in WAYS:
        raise ConfigError(f"direction must be 'to_client' or 'to_upstream', got {way!r}")
    return way


@dataclass
class _Shaping:
    """A delay and a byte rate for one direction."""

    delay: float = 0.0
    rate: float | None = None  # bytes per second


@dataclass
class _Settings:
    """What the test set on the proxy (read under the proxy's lock)."""

    after_upstream: dict[int, tuple[Step, ...]] = field(default_factory=dict)
    shaping: dict[Way, _Shaping] = field(default_factory=lambda: {way: _Shaping() for way in WAYS})
    upstream_rules: list[Rule] = field(default_factory=list)
    rewrites: dict[Way, list[Rewrite]] = field(default_factory=lambda: {way: [] for way in WAYS})


class Proxy:
    """Relays every WebSocket connection of a server to ``url`` (``ws_server.proxy_to``).

    Configure it before or while the client connects; each method returns the proxy, so calls
    chain. Sessions read the settings as each message passes.
    """

    def __init__(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None = None,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        forward_headers: Sequence[str] = FORWARDED_HEADERS,
        timeout: float = 10.0,
        max_message_size: int | None = None,
        close_timeout: float = 2.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ConfigError(
                f"proxy_to needs a ws:// or wss:// URL with a host, got {url!r} "
                f"(e.g. 'wss://stream.example.com/v1')"
            )
        self.url = url
        self.ssl = ssl
        items = headers.items() if isinstance(headers, Mapping) else (headers or ())
        self.headers: tuple[tuple[str, str], ...] = tuple((str(k), str(v)) for k, v in items)
        self.forward_headers = tuple(name.lower() for name in forward_headers)
        self.timeout = timeout
        self.max_message_size = max_message_size
        #: The bound on closing the upstream leg when the relay cannot wait for it (the
        #: server stopping, the client gone before its connection opened, a failed relay).
        self.close_timeout = close_timeout
        self._lock = threading.Lock()
        self._settings = _Settings()

    def __repr__(self) -> str:
        return f"Proxy({self.url!r})"

    # -- what the test sets -------------------------------------------------------------------

    def after_upstream(self, count: int, *steps: Step) -> Proxy:
        """After the ``count``-th upstream message (from 1) is relayed to the client, run
        ``steps`` on the client's leg: a fault (``Fault.drop()``, ``Fault.reset()``), a
        message to inject (``send_text(...)``), ``close(...)``."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ConfigError(f"after_upstream: count must be an int >= 1, got {count!r}")
        checked = tuple(check_steps(steps))
        if not checked:
            raise ConfigError("after_upstream: give at least one step, e.g. Fault.drop()")
        for step in checked:
            if step.expects:
                raise ConfigError(
                    f"after_upstream: {step.describe()} waits for the client; give steps that "
                    f"act (a fault, a send, close(...))"
                )
        with self._lock:
            self._settings.after_upstream[count] = checked
        return self

    def delay(self, seconds: float, *, direction: Way = "to_client") -> Proxy:
        """Hold each message going ``direction`` for ``seconds`` before relaying it."""
        if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
            raise ConfigError(f"delay: seconds must be a number >= 0, got {seconds!r}")
        with self._lock:
            self._settings.shaping[_check_way(direction)].delay = float(seconds)
        return self

    def throttle(self, bytes_per_second: float, *, direction: Way = "to_client") -> Proxy:
        """Relay messages going ``direction`` no faster than ``bytes_per_second`` (each
        message waits its size divided by the rate)."""
        if (
            not isinstance(bytes_per_second, (int, float))
            or not math.isfinite(bytes_per_second)
            or bytes_per_second <= 0
        ):
            raise ConfigError(
                f"throttle: bytes_per_second must be a number > 0, got {bytes_per_second!r}"
            )
        with self._lock:
            self._settings.shaping[_check_way(direction)].rate = float(bytes_per_second)
        return self

    def on_upstream(
        self,
        trigger: Step,
        *responses: Step | Response,
        times: int | None = None,
        consume: bool = True,
    ) -> Rule:
        """A rule on upstream messages: one that ``trigger`` matches is answered with
        ``responses`` on the client's leg (steps, or functions of the :class:`Message`) and,
        unless ``consume=False``, not relayed. ``times`` and the checks are as for
        ``ws_server.on``; the rule counts per connection."""
        made = rule(trigger, *responses, times=times, consume=consume)
        with self._lock:
            self._settings.upstream_rules.append(made)
        return made

    def rewrite(self, function: Rewrite, *, direction: Way = "to_client") -> Proxy:
        """Pass each message going ``direction`` through ``function`` (its text or bytes in,
        what to relay out; ``None`` relays nothing, and a note says so)."""
        if not callable(function):
            raise ConfigError(f"rewrite needs a function of the message, got {function!r}")
        with self._lock:
            self._settings.rewrites[_check_way(direction)].append(function)
        return self

    # -- per connection -----------------------------------------------------------------------

    def session(
        self, note: Callable[[str], None], cond: threading.Condition | None = None
    ) -> ProxySession:
        """The relay of one client connection (``note`` adds a line to its notes; ``cond``
        is the server's condition, notified as the upstream leg's record changes)."""
        return ProxySession(self, note, cond)

    def _snapshot(self) -> _Settings:
        with self._lock:
            settings = self._settings
            return _Settings(
                dict(settings.after_upstream),
                {way: _Shaping(s.delay, s.rate) for way, s in settings.shaping.items()},
                list(settings.upstream_rules),
                {way: list(functions) for way, functions in settings.rewrites.items()},
            )


class ProxySession:
    """One client connection's relay: ``prepare`` connects upstream, ``relay`` carries the
    messages (the connection's handler)."""

    def __init__(
        self, proxy: Proxy, note: Callable[[str], None], cond: threading.Condition | None = None
    ) -> None:
        self.proxy = proxy
        self.note = note
        self.cond = cond
        self.upstream: Upstream | None = None
        #: The request and the upstream's answer when it refused (a status other than 101).
        self.refusal: tuple[CassetteRequest, HandshakeResponse] | None = None
        #: Why the upstream could not be opened (the client was answered 502), if it failed.
        self.failure: UpstreamError | None = None
        #: Called with the upstream leg's record once it exists, a refused attempt's too (the
        #: server shows it as ``conn.upstream``).
        self.on_upstream: Callable[[ConnectionRecord], None] | None = None
        self._relayed_up = 0  # upstream messages relayed to the client
        self._answers: dict[int, int] = {}
        #: Why the upstream leg is closed by `release` (the relay did not end it itself).
        self._abandoned = "the client's connection ended before it opened"

    def _target(self, request: Request) -> str:
        """The client's path appended to the url's, the url's query (an API key...) first."""
        base = urlsplit(self.proxy.url)
        path, _, query = request.target.partition("?")
        if base.path not in ("", "/"):
            path = base.path.rstrip("/") + path
        queries = [part for part in (base.query, query) if part]
        return f"{path}?{'&'.join(queries)}" if queries else path

    def _headers(self, request: Request) -> list[tuple[str, str]]:
        chosen = [
            (name, value)
            for name, value in request.headers.items
            if name.lower() in self.proxy.forward_headers
        ]
        own = {name.lower() for name, _ in self.proxy.headers}
        return [(n, v) for n, v in chosen if n.lower() not in own] + list(self.proxy.headers)

    async def prepare(self, request: Request) -> Handshake:
        """Connect upstream with the client's request; the answer to give the client."""
        offered_deflate = any(offer.name == "permessage-deflate" for offer in request.extensions)
        try:
            upstream = await Upstream.connect(
                self.proxy.url,
                target=self._target(request),
                ssl=self.proxy.ssl,
                headers=self._headers(request),
                subprotocols=request.subprotocols,
                deflate=offered_deflate,
                timeout=self.proxy.timeout,
                max_message_size=self.proxy.max_message_size,
                cond=self.cond,
            )
        except UpstreamError as exc:
            if exc.record is not None and self.on_upstream is not None:
                self.on_upstream(exc.record)  # the attempt, for the transcript
            return self._refusal(request, exc)
        self.upstream = upstream
        if self.on_upstream is not None:
            self.on_upstream(upstream.record)
        self.note(
            f"proxy: connected to {self.proxy.url} ({self._target(request)}); upstream answered "
            f"101, subprotocol {upstream.subprotocol!r}"
        )
        # The client's leg negotiates its own permessage-deflate (messages are relayed
        # whole); the subprotocol is the upstream's choice.
        return Handshake.accept(subprotocol=upstream.subprotocol)

    def _refusal(self, request: Request, exc: UpstreamError) -> Handshake:
        response = exc.response
        if exc.status is not None and response is not None and 200 <= exc.status != 101:
            sent = CassetteRequest(
                self._target(request), tuple(self._headers(request)), tuple(request.subprotocols)
            )
            self.refusal = (sent, response)
            # The upstream refused: the client gets the same status, headers and body.
            self.note(f"proxy: {self.proxy.url} refused: {exc.cause}; relayed its answer")
            skip = {"content-length", "connection", "transfer-encoding"}
            headers = [(n, v) for n, v in response.headers.items if n.lower() not in skip]
            return Handshake.reject(
                exc.status, reason=response.reason, headers=headers, body=response.body
            ).named(f"upstream-{exc.status}", f"the upstream answered {exc.status}")
        self.failure = exc
        self.note(f"proxy: could not open {self.proxy.url}: {exc.cause}; answered 502")
        return Handshake.reject(
            502, body=f"wsmock proxy: the upstream {self.proxy.url} failed: {exc.cause}\n"
        ).named("upstream-failed", f"the upstream failed: {exc.cause}")

    # -- the relay ----------------------------------------------------------------------------

    async def relay(self, ws: WebSocket) -> None:
        """Carry messages both ways until either side ends; then end the other as it ended."""
        upstream = self.upstream
        if upstream is None:  # refused: the handler never runs (no 101)
            return
        try:
            async with anyio.create_task_group() as tg:

                async def to_upstream() -> None:
                    await self._client_to_upstream(ws, upstream)
                    tg.cancel_scope.cancel()

                async def to_client() -> None:
                    await self._upstream_to_client(ws, upstream)
                    tg.cancel_scope.cancel()

                tg.start_soon(to_upstream)
                tg.start_soon(to_client)
        except BaseException as exc:
            failure = _failure(exc)
            if failure is None:  # cancelled: the server is stopping; `release` ends the leg
                self._abandoned = "the server stopped"
                raise
            # A rule's function or a rewrite raised: the test fails with it (the server says
            # so and closes the client's leg with 1011), and the upstream leg ends the same way.
            self.note(f"proxy: the relay failed: {failure!r}; closed both legs with 1011")
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await upstream.close(
                    1011, "wsmock proxy: the relay failed", timeout=self.proxy.close_timeout
                )
            raise failure from None
        with anyio.CancelScope(shield=True):
            await self._finish(ws, upstream)

    async def release(self) -> None:
        """The client's connection has ended (the engine calls this, shielded): an upstream
        leg still open (the server stopped, or the client's connection never opened) is
        closed with 1001, bounded by the proxy's ``close_timeout``."""
        upstream = self.upstream
        if upstream is None or upstream.closed:
            return
        self.note(f"proxy: {self._abandoned}; closed the upstream leg with 1001")
        with contextlib.suppress(Exception):
            await upstream.close(
                1001, f"wsmock proxy: {self._abandoned}", timeout=self.proxy.close_timeout
            )

    async def _client_to_upstream(self, ws: WebSocket, upstream: Upstream) -> None:
        async for message in ws:
            data = await self._shaped(self.proxy._snapshot(), "to_upstream", message.value)
            if data is None:
                continue
            try:
                await upstream.send(data)
            except ConnectionClosed:
                return  # the upstream is closing: the other direction passes its close on

    async def _upstream_to_client(self, ws: WebSocket, upstream: Upstream) -> None:
        while True:
            data = await upstream.receive()
            if data is None:
                return
            self._relayed_up += 1
            number = self._relayed_up
            settings = self.proxy._snapshot()
            try:
                if await self._answer_rules(ws, settings, data):
                    shaped = await self._shaped(settings, "to_client", data)
                    if shaped is not None:
                        await ws.send(shaped)
            except ConnectionClosed:
                return  # the client's leg ended: `_finish` passes that on
            for step in settings.after_upstream.get(number, ()):
                shown = f"proxy: after upstream message #{number}: {step.describe()}"
                if not ws.open:
                    # A fault before it ended the client's leg (or the client left).
                    self.note(f"{shown} skipped: the client's connection has ended")
                    continue
                self.note(shown)
                with contextlib.suppress(ConnectionClosed):
                    await step.run(ws)
            if not ws.open:
                return

    async def _answer_rules(self, ws: WebSocket, settings: _Settings, data: str | bytes) -> bool:
        """Offer an upstream message to the upstream rules; whether to relay it."""
        message = Message(
            Direction.SERVER,
            Opcode.TEXT if isinstance(data, str) else Opcode.BINARY,
            data.encode() if isinstance(data, str) else data,
            False,
            1,
            time.monotonic(),
        )
        for number, made in enumerate(settings.upstream_rules):
            spent = made.times is not None and self._answers.get(number, 0) >= made.times
            if spent or not made.trigger.matches(message):
                continue
            self._answers[number] = self._answers.get(number, 0) + 1
            self.note(f"proxy: upstream rule #{number} {made.trigger.describe()} answered")
            for step in made.answer(message):
                await step.run(ws)
            return not made.consume
        return True

    async def _shaped(self, settings: _Settings, way: Way, data: str | bytes) -> str | bytes | None:
        """``data`` after the direction's rewrites, delay and rate in ``settings`` (the
        message's one snapshot of them; ``None``: not relayed)."""
        for function in settings.rewrites[way]:
            made = function(data)
            if made is None:
                self.note(f"proxy: a rewrite dropped a message going {way}")
                return None
            if not isinstance(made, (str, bytes)):
                raise ConfigError(
                    f"a proxy rewrite must return str, bytes or None, got {made!r} from "
                    f"{getattr(function, '__name__', function)!r}"
                )
            data = made
        shaping = settings.shaping[way]
        wait = shaping.delay
        if shaping.rate is not None:
            size = len(data.encode()) if isinstance(data, str) else len(data)
            wait += size / shaping.rate
        if wait > 0:
            await anyio.sleep(wait)
        return data

    async def _finish(self, ws: WebSocket, upstream: Upstream) -> None:
        """Pass the ending of the side that ended on to the other, as it was: a close frame
        with its code and reason, or TCP ending without one."""
        bound = self.proxy.close_timeout
        client = ws.client_close
        if client is not None:
            with contextlib.suppress(Exception):
                await upstream.close(*client, timeout=bound)
            return
        theirs = upstream.close_frame
        if theirs is not None:
            with contextlib.suppress(ConnectionClosed):
                if ws.open:
                    await ws.close(*theirs)
            with contextlib.suppress(Exception):
                await upstream.close(timeout=bound)  # finishes the handshake it began
            return
        if not ws.open and ws.broke_protocol:
            # A fault the test set ended the client's leg: that is the client's leg's story;
            # the proxy, the upstream's client, closes its leg properly.
            with contextlib.suppress(Exception):
                await upstream.close(timeout=bound)
            return
        if not ws.open:
            # The client dropped (TCP ended without its close frame): so does the upstream leg.
            self.note("proxy: the client left without a close frame; so did the upstream leg")
            with contextlib.suppress(Exception):
                await upstream.abort(reset=False)
            return
        # The upstream ended TCP without a close frame: the client's leg ends abnormally too.
        self.note("proxy: the upstream ended without a close frame; so did the client's leg")
        with contextlib.suppress(Exception):
            await ws.transport.abort()


def _failure(exc: BaseException) -> BaseException | None:
    """The first exception in ``exc`` (a task group's may wrap several) that is not a
    cancellation, or ``None`` when all of it is cancellation."""
    group = getattr(exc, "exceptions", None)  # a BaseExceptionGroup (3.11+, or anyio's)
    if isinstance(group, tuple):
        found = (_failure(inner) for inner in group if isinstance(inner, BaseException))
        return next((f for f in found if f is not None), None)
    return None if isinstance(exc, anyio.get_cancelled_exc_class()) else exc
