"""The mock server: what it does on each connection, and how the test steers it."""

from __future__ import annotations

import dataclasses
import re
import ssl
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.abc import SocketAttribute, SocketStream

from ._connection import ConnectionRecord
from ._engine import Engine, Handler
from ._errors import (
    ClientViolationError,
    ScriptError,
)
from ._faults import Fault
from ._handshakes import Handshake, check_outcomes
from ._http_records import HttpRequest
from ._live import Connection, LiveControl
from ._options import ServerOptions
from ._protocol import Request, Violation
from ._routes import Behaviour, HttpRoute, Route, RouteTable
from ._rules import ResponseFunction, Rule, rule
from ._server_relay import RelayServer
from ._steps import Step, check_steps

if TYPE_CHECKING:
    from ._tls import TlsMaterial

_TOO_MANY = Handshake.unavailable(retry_after=1).named(
    "too-many-connections", "503 Service Unavailable: max_connections open connections"
)
#: Violation kinds that are the server's limits, not the client's faults: recorded, answered
#: (1009, 431, 414, 1008), but not failed on in strict mode. Each such violation also has
#: ``Violation.limit`` set, which is what strict mode reads.
LIMIT_KINDS = frozenset(
    {
        "frame-too-large",
        "message-too-big",
        "headers-too-large",
        "request-line-too-long",
        "record-too-large",
    }
)
_ACCEPT = Handshake()


def _no_route(path: str, routes: Sequence[Route]) -> Handshake:
    known = ", ".join(repr(r.pattern) for r in routes) or "none"
    return Handshake.reject(
        404, body=f"strict_routes: no route for {path!r} (routes: {known})\n"
    ).named("no-route", "404 Not Found: no route for the path (strict_routes)")


class MockServer(RelayServer):
    """A scriptable WebSocket server on loopback, run by a background thread.

    You normally get one from the ``ws_server``, ``wss_server`` or ``ws_server_factory``
    fixtures, which start it before the test and stop it after. Outside pytest, use it as a
    context manager: ``with MockServer(ServerOptions()) as server: ...``.

    Every method is thread-safe. Waits come in two forms: a blocking one for sync tests
    (``wait_for_connection``) and an awaitable one for asyncio and trio tests
    (``await connection()``), which does not block the test's event loop.
    """

    def __init__(self, options: ServerOptions | None = None, *, tls: TlsMaterial | None = None):
        super().__init__(options, tls=tls)
        self._handler: Handler | None = None
        self._outcomes: tuple[Handshake, ...] = ()
        self._scripts: dict[int | None, tuple[Step, ...]] = {}
        self._rules: list[tuple[int | None, Rule]] = []
        self._host = _EngineHost(self)
        self._routes = RouteTable()
        self._http_requests: list[HttpRequest] = []
        # Accepted connections not listed yet, by id(): their live control.
        self._unlisted: dict[int, LiveControl] = {}

    async def _accept(self, stream: SocketStream) -> None:
        peer = stream.extra(SocketAttribute.remote_address)
        control = LiveControl()
        # Not listed (no index) until the request says it is a WebSocket connection, or the
        # connection ends before a complete request: see `_list` and `_behaviour`.
        conn = Connection(
            self._waits,
            control,
            -1,
            (str(peer[0]), int(peer[1])),
            budget=self.options.max_record_size,
            show_credentials=self.options.show_credentials,
        )
        engine = Engine(self._host, stream, conn)
        control.portal = self._portal
        control.engine = engine
        with self._cond:
            self._unlisted[id(conn)] = control
        try:
            await engine.run()
        finally:
            with self._cond:
                self._unlisted.pop(id(conn), None)

    def _list(self, conn: Connection) -> None:
        """Give ``conn`` its index and list it (lock held; once)."""
        control = self._unlisted.pop(id(conn))
        conn.index = len(self._connections)
        self._connections.append(conn)
        self._controls.append(control)
        self._cond.notify_all()

    def _early_behaviour(self, conn: Connection) -> Behaviour | None:
        with self._cond:
            # The index the connection would get: the connections listed so far.
            if self._outcome_for(len(self._connections)).action != "close-before-request":
                return None
            return self._behaviour(conn, None)

    def _behaviour(self, conn: Connection, request: Request | None) -> Behaviour:
        with self._cond:
            self._list(conn)
            # A script is run (and owed) only by a connection whose handshake opens.
            steps = self._scripts.get(conn.index, self._scripts.get(None))
            chosen = Behaviour(
                self._outcome_for(conn.index),
                self._handler,
                steps,
                tuple(self._rules_for(conn.index)),
            )
            route = self._routes.route_for(request.path) if request is not None else None
            if route is not None:
                chosen = self._routes.serve(route, conn, chosen)
            elif relayed := self._relay_behaviour(conn, request, chosen):
                chosen = relayed  # replay(...) or proxy_to(...): see _server_relay.py
            elif request is not None and self.options.strict_routes:
                note = f"strict_routes: no route for {request.path!r}; answered 404"
                self._notes.append(f"{conn.label}: {note}")
                conn.note(note)
                chosen = Behaviour(_no_route(request.path, self._routes.routes))
            limit = self.options.max_connections
            # Counted only under a limit: a scan of every connection so far, per connection.
            open_count = 0 if limit is None else sum(not c.closed for c in self._connections[:-1])
            if limit is not None and open_count >= limit:
                # Over the limit: answered like a busy server, and noted.
                chosen = dataclasses.replace(chosen, outcome=_TOO_MANY)
                conn.note(
                    f"max_connections: {open_count} connection(s) were open (limit {limit}); "
                    f"answered 503"
                )
            conn.record_route(chosen.route)
            conn.record_outcome(chosen.outcome)
        return chosen

    def _answer_http(self, request: Request, body: bytes, problem: tuple[int, str] | None) -> bytes:
        with self._cond:
            answer = self._routes.answer_http(request, body, problem)
            self._http_requests.append(answer.record)
            if answer.note is not None:
                self._notes.append(answer.note)
            self._cond.notify_all()
        return answer.raw

    def route(
        self,
        path: str | re.Pattern[str],
        *,
        handler: Handler | None = None,
        script: Sequence[Step] | None = None,
        handshake: Handshake | Fault | Sequence[Handshake | Fault] | None = None,
        rules: Sequence[Rule] = (),
    ) -> Route:
        """Give WebSocket connections to ``path`` their own behaviour; return the :class:`Route`.

        ``path`` is an exact path (compared with the request's path without its query) or a
        compiled regex (``fullmatch``). What the route does not set comes from the server-wide
        ``handler``/``script``/``handshake``; ``handshake`` outcomes count this route's
        connections (the last repeats). A later ``route()`` for the same path replaces it.
        Applies to connections whose request is read after the call.

        Raises:
            ConfigError: a bad path, both a handler and a script, or a handshake outcome that
                closes before the request is read (it cannot depend on the path).
        """
        made = Route(
            path, handler=handler, script=script, handshake=handshake, rules=rules, lock=self._cond
        )
        with self._cond:
            self._routes.add_route(made)
        return made

    def http(
        self,
        path: str | re.Pattern[str],
        *,
        status: int = 200,
        json: Any = None,
        body: bytes | str = b"",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        method: str = "GET",
    ) -> None:
        """Answer plain (non-upgrade) ``method`` requests for ``path`` with this response.

        ``json=`` sends JSON (``Content-Type: application/json``), ``body=`` bytes or text.
        Every answer has ``Content-Length`` and ``Connection: close``; the server closes the
        connection after it. A later ``http()`` for the same path and method replaces it.
        Requests are recorded in :attr:`http_requests`; they are no WebSocket connections.
        """
        answer = HttpRoute.build(
            path, status=status, json=json, body=body, headers=headers, method=method
        )
        with self._cond:
            self._routes.add_http(answer)

    @property
    def http_requests(self) -> list[HttpRequest]:
        """Every plain-HTTP request answered so far, in order (recorded before the answer)."""
        with self._cond:
            return list(self._http_requests)

    async def _settle_behaviour(self) -> None:
        # Scripts of connections that are no longer open run their lifecycle to the end (all
        # of them at once, bounded by close_timeout), so teardown's verdict is theirs.
        with self._cond:
            engines = [c.engine for c in self._controls if c.engine is not None]
        unsettled = [engine for engine in engines if engine.script_unsettled()]
        if not unsettled:
            return  # the usual case: nothing to wait for, and no task to start
        async with anyio.create_task_group() as tg:
            for engine in unsettled:
                tg.start_soon(engine.settle_script, self.options.close_timeout)

    def _outcome_for(self, index: int) -> Handshake:
        outcomes = self._outcomes or self.options.handshake
        if not outcomes:
            return _ACCEPT
        return outcomes[min(index, len(outcomes) - 1)]

    def handler(self, fn: Handler) -> Handler:
        """Run ``fn`` (an ``async`` function taking a :class:`WebSocket`) on each new connection.

        Usable as a decorator. It applies to connections accepted after the call. When it
        returns, the server closes the connection with 1000; when it raises, the server closes
        with 1011 and the test fails at teardown with the traceback.
        """
        with self._cond:
            self._handler = fn
        return fn

    def script(self, *steps: Step, connection: int | None = None) -> None:
        """Run these steps, in order, on each new connection (or only on connection #N).

        ``ws_server.script(send_text("welcome"), expect_text("hello"), close(1000))``. A step
        whose expectation is not met stops the script and fails the test (at the latest at
        teardown, with what was expected and what came instead); a script that has not
        finished by teardown fails the test too, naming the step it was on. After its last
        step the connection stays open: the server records, answers pings, and answers a
        close. A script for a connection replaces the handler for it.

        Args:
            steps: the steps (``send_text(...)``, ``expect_text(...)``, ``close()``,
                ``FRAME_VIOLATIONS`` entries, ...).
            connection: apply to connection #N only (0-based); by default, to every
                connection that has no script of its own.

        With no steps, ``script()`` withdraws the script set before for the same
        ``connection`` (``script(connection=1)`` withdraws connection #1's own script; plain
        ``script()`` the one for every connection): connections accepted after the call run
        the handler (or the default behaviour) instead, and nothing is owed at the end.
        """
        checked = check_steps(steps)
        with self._cond:
            if checked:
                self._scripts[connection] = checked
            else:
                self._scripts.pop(connection, None)

    def on(
        self,
        trigger: Step,
        *responses: Step | ResponseFunction,
        times: int | None = None,
        consume: bool = True,
        connection: int | None = None,
    ) -> Rule:
        """Answer every client message that ``trigger`` matches with ``responses``, whenever it
        comes, alongside a script or a handler (a background rule; see docs/rules.md).

        ``ws_server.on(expect_json({"type": "ping"}), send_json({"type": "pong"}))``. It
        applies to connections accepted after the call, after the marker's ``rules`` and the
        rules set before it: the first rule that matches a message answers it. The matched
        message is not given to the script or handler (unless ``consume=False``).

        Args:
            trigger: an ``expect_text/binary/json/message/ping/pong`` step used as a matcher.
            responses: steps to send, or functions of the matched :class:`Message` (a
                :class:`Frame` for pings and pongs) returning a step, steps or ``None``.
            times: answer at most this many times per connection.
            consume: ``False``: answer, and still give the message to the script or handler.
            connection: apply to connection #N only (0-based), as ``script(connection=N)``.

        Returns:
            The :class:`Rule`.

        Raises:
            ConfigError: see :func:`rule`.
        """
        made = rule(trigger, *responses, times=times, consume=consume)
        with self._cond:
            self._rules.append((connection, made))
        return made

    def _rules_for(self, index: int) -> list[Rule]:
        """The marker's (or factory's) rules, then those of ``on()`` that apply to #index."""
        with self._cond:
            own = [made for where, made in self._rules if where is None or where == index]
        return [*self.options.rules, *own]

    def handshake(self, *outcomes: Handshake | Fault) -> None:
        """Answer the next opening handshakes with these outcomes, one per connection.

        Connection #0 gets the first outcome, #1 the second, and so on; the last one applies to
        every later connection. A transport :class:`Fault` that means something during the
        handshake (``Fault.reset()``, ``Fault.stall(1)``, ...) counts as its
        ``as_handshake()``. ``handshake(Handshake.reject(503), Handshake.accept())`` rejects
        the first attempt and accepts every retry. Connections already accepted keep theirs.

        Raises:
            ConfigError: no outcome, or something that is not a :class:`Handshake`.
        """
        checked = check_outcomes(outcomes)
        with self._cond:
            self._outcomes = checked

    def _unfinished_scripts(self) -> list[tuple[tuple[str, int], str]]:
        """What the scripts still owe, not reported yet, each with its key."""
        with self._cond:
            connections = list(self._connections)
            scripts = dict(self._scripts)
            reported = set(self._reported)
        problems = [
            (("script", conn.index), text)
            for conn in connections
            if ("script", conn.index) not in reported and (text := conn.unfinished_script())
        ]
        opened = [conn for conn in connections if conn.accepted]
        if None in scripts and not opened:
            came = (
                f"{len(connections)} connection(s) came, none opened"
                if connections
                else ("no client connected")
            )
            problems.append((("no-connection", -1), f"a script was set on {self.url} but {came}"))
        for index in sorted(i for i in scripts if i is not None and i >= len(connections)):
            problems.append(
                (
                    ("missing-connection", index),
                    f"a script was set for connection #{index} on {self.url}, but only "
                    f"{len(connections)} connection(s) came",
                )
            )
        return [(key, text) for key, text in problems if key not in reported]

    def _new_violations(self) -> list[tuple[str, Violation]]:
        """Violations strict mode fails on that no check reported yet (limits and the kinds
        of the ``allow`` option excepted; each allowed one is noted on its connection, once)."""
        with self._cond:
            connections = list(self._connections)
        found: list[tuple[int, str, Violation]] = []
        for conn in connections:
            for number, violation in conn.numbered_violations():
                if violation.limit:
                    continue
                if violation.kind in self.options.allow:
                    with self._cond:
                        fresh = ("allowed", number) not in self._reported
                        self._reported.add(("allowed", number))
                    if fresh:
                        conn.note(
                            f"violation {violation.kind} allowed (option allow): recorded, "
                            f"not failed"
                        )
                    continue
                with self._cond:
                    if ("violation", number) in self._reported:
                        continue
                    self._reported.add(("violation", number))
                found.append((number, conn.label, violation))
        return [(label, violation) for _, label, violation in sorted(found, key=_number)]

    def check(self) -> None:
        """Raise if a handler or script failed, or (in strict mode) if the client broke the
        protocol, and mark it reported: each failure is raised once, by a wait or a check.

        The plugin calls this when the test function returns (after :meth:`settle`), so that
        the test fails as its own failure, and again at teardown for what happened since (a
        client fixture that broke the protocol while closing); a test never needs to.

        Raises:
            ServerError: a handler raised; the first exception is chained.
            WaitTimeout: the server's ``deadline`` passed.
            ScriptError: a script step's expectation was not met, or a script did not finish.
            ClientViolationError: strict mode is on and the client broke a rule that the
                ``allow`` option does not name.
        """
        __tracebackhide__ = True
        failure = self.take_failure()
        if failure is not None:
            raise failure
        unfinished = self._unfinished_scripts()
        if unfinished:
            with self._cond:
                self._reported.update(key for key, _ in unfinished)
            raise ScriptError("\n".join(text for _, text in unfinished))
        if not self.options.strict:
            return
        violations = self._new_violations()
        if violations:
            raise ClientViolationError(violations)


def _number(item: tuple[int, str, Violation]) -> int:
    return item[0]


class _EngineHost:
    """What an engine needs from its server (the `Host` protocol of ``_engine.py``)."""

    def __init__(self, server: MockServer) -> None:
        self._server = server

    @property
    def options(self) -> ServerOptions:
        return self._server.options

    @property
    def url(self) -> str:
        return self._server.url

    def tls_context(self) -> ssl.SSLContext:
        return self._server.tls_server_context()

    def error(self, where: str, exc: BaseException) -> None:
        self._server.record_error(where, exc)

    def release_event(self, label: str) -> anyio.Event:
        return self._server.release_event(label)

    def early_behaviour(self, record: ConnectionRecord) -> Behaviour | None:
        assert isinstance(record, Connection)
        return self._server._early_behaviour(record)

    def behaviour(self, record: ConnectionRecord, request: Request | None) -> Behaviour:
        assert isinstance(record, Connection)
        return self._server._behaviour(record, request)

    def answer_http(self, request: Request, body: bytes, problem: tuple[int, str] | None) -> bytes:
        return self._server._answer_http(request, body, problem)
