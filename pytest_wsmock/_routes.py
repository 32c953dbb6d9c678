"""What a connection does, chosen once its request is known: `Behaviour`, per-path `Route`s
and the plain-HTTP answers of ``ws_server.http(...)``.

Plain data and matching only (no I/O): the server (``_server.py``) keeps a `RouteTable` and asks
it, under its lock, once a request is parsed.
"""

from __future__ import annotations

import json as jsonlib
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._connection import ConnectionRecord
from ._errors import ConfigError
from ._handshakes import Handshake, check_outcomes
from ._http_records import HttpRequest
from ._protocol import Request, build_response, reason_phrase
from ._rules import Rule, check_rules
from ._steps import Step, check_steps
from ._websocket import WebSocket

__all__ = ["Behaviour", "HttpAnswer", "HttpRoute", "Route", "RouteTable", "path_text"]

Handler = Callable[[WebSocket], Awaitable[Any]]
#: Run once a WebSocket request is parsed and checked, before it is answered (a proxy connects
#: upstream here): it returns the outcome that answers the request.
Prepare = Callable[[Request], Awaitable[Handshake]]
#: Run once the connection has ended, opened or not (a proxy ends its upstream leg here); it
#: runs shielded from cancellation, so it must bound its own waits.
Release = Callable[[], Awaitable[None]]
PathSpec = str | re.Pattern[str]


@dataclass(frozen=True)
class Behaviour:
    """What the server does on one WebSocket connection, chosen by the server (``_server.py``)
    once the request is parsed (or once the connection ended before a complete one).

    Attributes:
        outcome: how the opening handshake is answered.
        handler: the handler run once the connection opens, if any.
        steps: the script run once the connection opens (it replaces the handler), if any.
        rules: background rules for the connection.
        route: the text of the route that served the connection (``None``: server-wide).
        prepare: run before a request that ``outcome`` would accept is answered; what it
            returns answers the request instead (``None``: ``outcome`` answers).
        release: run once the connection has ended, whether it opened or not, even when the
            server stops (``None``: nothing to release).
    """

    outcome: Handshake
    handler: Handler | None = None
    steps: tuple[Step, ...] | None = None
    rules: tuple[Rule, ...] = ()
    route: str | None = None
    prepare: Prepare | None = None
    release: Release | None = None


def check_path(path: object, what: str) -> PathSpec:
    """A route path: an exact ``str`` starting with ``/`` (no query), or a compiled regex."""
    if isinstance(path, re.Pattern):
        if not isinstance(path.pattern, str):
            raise ConfigError(f"{what}: a pattern must be a str regex, got {path!r}")
        return path
    if not isinstance(path, str):
        raise ConfigError(
            f"{what}: the path must be a str like '/chat' or a compiled regex like "
            f"re.compile(r'/rooms/\\d+'), got {path!r}"
        )
    if not path.startswith("/"):
        raise ConfigError(f"{what}: the path must start with '/': write {'/' + path!r}")
    if "?" in path:
        raise ConfigError(
            f"{what}: {path!r} has a query; routes match the path without the query: write "
            f"{path.partition('?')[0]!r} (the query is in the record)"
        )
    return path


def path_text(path: PathSpec) -> str:
    """The route's path, or its pattern's text."""
    return path if isinstance(path, str) else path.pattern


def _same_path(a: PathSpec, b: PathSpec) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return (a.pattern, a.flags) == (b.pattern, b.flags)


def _matches(spec: PathSpec, path: str) -> bool:
    return spec == path if isinstance(spec, str) else spec.fullmatch(path) is not None


def _first_match(specs: Sequence[Any], path: str) -> list[Any]:
    """The items whose ``path`` matches, exact paths before patterns, each in order added."""
    exact = [item for item in specs if isinstance(item.path, str) and item.path == path]
    patterns = [
        item for item in specs if not isinstance(item.path, str) and _matches(item.path, path)
    ]
    return exact + patterns


class Route:
    """The behaviour of the WebSocket connections to one path (``ws_server.route(...)``).

    Attributes:
        path: the exact path (``str``) or the compiled regex given to ``route()``.
        handler: the route's handler, or ``None``.
        script: the route's script steps, or ``None``.
        handshake: the route's handshake outcomes (one per connection on this route, the last
            repeating); empty: the server-wide ones.
        rules: the route's background rules.
    """

    def __init__(
        self,
        path: object,
        *,
        handler: Handler | None = None,
        script: Sequence[Step] | None = None,
        handshake: object = None,
        rules: Sequence[Rule] = (),
        lock: threading.Condition | None = None,
    ) -> None:
        self.path: PathSpec = check_path(path, "route()")
        if handler is not None and script is not None:
            raise ConfigError(
                f"route({self.pattern!r}): give a handler or a script, not both (a script "
                f"replaces the handler)"
            )
        self.handler = handler
        self.script = None if script is None else check_steps(tuple(script))
        self.handshake: tuple[Handshake, ...] = (
            () if handshake is None else check_outcomes(handshake)
        )
        early = [h for h in self.handshake if h.action == "close-before-request"]
        if early:
            raise ConfigError(
                f"route({self.pattern!r}): handshake {early[0].id!r} closes before the request "
                f"is read, so it cannot depend on the request's path; set it server-wide with "
                f"ws_server.handshake(...) instead"
            )
        self.rules = check_rules(f"route({self.pattern!r}) rules", rules)
        self._lock = lock or threading.Condition()
        self._served: list[ConnectionRecord] = []

    @property
    def pattern(self) -> str:
        """The path, or the regex's pattern text: what ``conn.route`` says."""
        return path_text(self.path)

    @property
    def connections(self) -> list[Any]:
        """The connections this route served, in order (:class:`Connection` records)."""
        with self._lock:
            return list(self._served)

    def matches(self, path: str) -> bool:
        """Whether a request for ``path`` (without its query) is this route's."""
        return _matches(self.path, path)

    def __repr__(self) -> str:
        return f"<Route {self.pattern!r}: {len(self.connections)} connection(s)>"


@dataclass(frozen=True)
class HttpRoute:
    """A plain-HTTP answer (``ws_server.http(...)``)."""

    path: PathSpec
    method: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def build(
        cls,
        path: object,
        *,
        status: int = 200,
        json: Any = None,
        body: bytes | str = b"",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        method: str = "GET",
    ) -> HttpRoute:
        spec = check_path(path, "http()")
        if not isinstance(status, int) or not 100 <= status <= 999 or 101 <= status <= 199:
            raise ConfigError(
                f"http({path_text(spec)!r}): status must be 200-999 or 100, got {status!r}"
            )
        if not isinstance(method, str) or not method.isalpha():
            raise ConfigError(
                f"http({path_text(spec)!r}): method must be like 'GET', got {method!r}"
            )
        items = list(headers.items() if isinstance(headers, Mapping) else headers or ())
        names = {name.lower() for name, _ in items}
        if json is not None:
            if body:
                raise ConfigError(f"http({path_text(spec)!r}): give json= or body=, not both")
            data = jsonlib.dumps(json).encode()
            if "content-type" not in names:
                items.append(("Content-Type", "application/json"))
        else:
            data = body.encode() if isinstance(body, str) else bytes(body)
            if isinstance(body, str) and "content-type" not in names:
                items.append(("Content-Type", "text/plain; charset=utf-8"))
        bad = names & {"content-length", "connection", "transfer-encoding"}
        if bad:
            raise ConfigError(
                f"http({path_text(spec)!r}): the server writes {sorted(bad)} itself "
                f"(Content-Length of the body, Connection: close)"
            )
        return cls(spec, method.upper(), status, tuple(items), data)


@dataclass(frozen=True)
class HttpAnswer:
    """What the server answers one plain-HTTP request: the record and the bytes to write."""

    record: HttpRequest
    raw: bytes
    note: str | None


def _response(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    items = [*headers, ("Content-Length", str(len(body))), ("Connection", "close")]
    return build_response(status, reason_phrase(status), items, body, content_length=False)


def _text(status: int, text: str, extra: Iterable[tuple[str, str]] = ()) -> bytes:
    return _response(
        status, [("Content-Type", "text/plain; charset=utf-8"), *extra], f"{text}\n".encode()
    )


class RouteTable:
    """A server's routes and plain-HTTP answers (read and changed under the server's lock)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.http: list[HttpRoute] = []

    def add_route(self, route: Route) -> None:
        """Add ``route``; it replaces an earlier route for the same path."""
        self.routes = [r for r in self.routes if not _same_path(r.path, route.path)]
        self.routes.append(route)

    def add_http(self, answer: HttpRoute) -> None:
        """Add ``answer``; it replaces an earlier one for the same path and method."""
        self.http = [
            h
            for h in self.http
            if not (_same_path(h.path, answer.path) and h.method == answer.method)
        ]
        self.http.append(answer)

    def serve(self, route: Route, conn: ConnectionRecord, fallback: Behaviour) -> Behaviour:
        """``route``'s behaviour for ``conn`` (lock held): the route's own, the server-wide
        ``fallback`` for what the route does not set; the route's rules before the server's."""
        count = len(route._served)
        route._served.append(conn)
        outcome = (
            route.handshake[min(count, len(route.handshake) - 1)]
            if route.handshake
            else fallback.outcome
        )
        if route.handler is None and route.script is None:
            handler, steps = fallback.handler, fallback.steps
        else:
            handler, steps = route.handler, route.script
        rules = route.rules + fallback.rules
        return Behaviour(outcome, handler, steps, rules, route.pattern)

    def route_for(self, path: str) -> Route | None:
        """The route of a WebSocket request for ``path``: an exact path first, then the first
        pattern added that matches."""
        found = _first_match(self.routes, path)
        return found[0] if found else None

    def answer_http(
        self, request: Request, body: bytes, problem: tuple[int, str] | None
    ) -> HttpAnswer:
        """Match a plain-HTTP request and build its record and response (``problem``: the
        body could not be read, answered with that status and reason)."""
        note = None
        route: str | None = None
        if problem is not None:
            status, why = problem
            raw = _text(status, why)
            note = f"plain HTTP {request.method} {request.target}: answered {status}: {why}"
        else:
            candidates = _first_match(self.http, request.path)
            chosen = next((h for h in candidates if h.method == request.method), None)
            if chosen is not None:
                status, route = chosen.status, path_text(chosen.path)
                raw = _response(status, chosen.headers, chosen.body)
            elif candidates:
                allowed = ", ".join(sorted({h.method for h in candidates}))
                status = 405
                raw = _text(status, f"{request.method} is not allowed here", [("Allow", allowed)])
                note = (
                    f"plain HTTP {request.method} {request.target}: 405, the http() answers for "
                    f"this path are for {allowed}"
                )
            else:
                status = 404
                raw = _text(status, f"no http() answer for {request.path}")
                known = ", ".join(f"{h.method} {path_text(h.path)}" for h in self.http)
                note = (
                    f"plain HTTP {request.method} {request.target}: no http() answer for "
                    f"{request.path!r}, answered 404 (answers: {known or 'none'})"
                )
        record = HttpRequest(
            method=request.method,
            target=request.target,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=body,
            time=time.monotonic(),
            status=status,
            route=route,
        )
        return HttpAnswer(record, raw, note)


def url_with_scheme(url: str, scheme: str | None, *, tls: bool) -> str:
    """``url`` (a server's ``ws://`` or ``wss://`` URL) with ``scheme`` instead: ``http`` or
    ``https`` for the plain HTTP the server answers (``None``: unchanged).

    Raises:
        ConfigError: a scheme the server does not speak; the message names the right one.
    """
    current = "wss" if tls else "ws"
    if scheme is None or scheme == current:
        return url
    known = {"ws": "ws", "wss": "ws", "http": "http", "https": "http"}
    if scheme not in known:
        raise ConfigError(
            f"url_for(scheme={scheme!r}): the scheme must be one of 'ws', 'wss', "
            f"'http', 'https' (or None: {current!r})"
        )
    right = known[scheme] + ("s" if tls else "")
    if scheme != right:
        kind = "a TLS server" if tls else "a plain (not TLS) server"
        raise ConfigError(f"url_for(scheme={scheme!r}): this is {kind}: use scheme={right!r}")
    return url.replace(f"{current}://", f"{scheme}://", 1)
