"""The mock server: an anyio listener served from a background thread, and thread-safe waits."""

from __future__ import annotations

import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.abc import SocketAttribute, SocketListener, SocketStream

from ._connection import Connection
from ._driver import Handler, _Driver
from ._errors import (
    ClientViolationError,
    ConfigError,
    ConnectionClosed,
    ScriptError,
    ServerError,
    WaitTimeout,
    WsmockError,
)
from ._fastio import serve_asyncio
from ._faults import Fault
from ._handshakes import Handshake, check_outcomes
from ._loop import PORTALS
from ._options import ServerOptions
from ._protocol import Violation
from ._records import CloseInfo
from ._script import run_script
from ._steps import Step, check_steps
from ._transcript import render_server

if TYPE_CHECKING:
    from ._tls import TlsMaterial

T = TypeVar("T")

_STOP_TIMEOUT = 10.0
_TOO_MANY = Handshake.unavailable(retry_after=1).named(
    "too-many-connections", "503 Service Unavailable: max_connections open connections"
)
#: Event-loop iterations run before teardown cancels the connections: enough to see readiness
#: of data already in the kernel (one) and to let the readers act on it (one more), with a spare.
_SETTLE_ITERATIONS = 3

#: Violation kinds that are the server's limits, not the client's faults: recorded, answered
#: (1009, 431, 414), but not failed on in strict mode.
LIMIT_KINDS = frozenset(
    {"frame-too-large", "message-too-big", "headers-too-large", "request-line-too-long"}
)
_ACCEPT = Handshake()


class MockServer:
    """A scriptable WebSocket server on loopback, run by a background thread.

    You normally get one from the ``ws_server``, ``wss_server`` or ``ws_server_factory``
    fixtures, which start it before the test and stop it after. Outside pytest, use it as a
    context manager: ``with MockServer(ServerOptions()) as server: ...``.

    Every method is thread-safe. Waits come in two forms: a blocking one for sync tests
    (``wait_for_connection``) and an awaitable one for asyncio and trio tests
    (``await connection()``), which does not block the test's event loop.
    """

    def __init__(self, options: ServerOptions | None = None, *, tls: TlsMaterial | None = None):
        self.options = options or ServerOptions()
        self.options.check_tls()
        if self.options.tls and tls is None:
            raise ConfigError("a TLS server needs TLS material: pass tls=TlsMaterial(...)")
        self._tls = tls
        self._cond = threading.Condition()
        self._connections: list[Connection] = []
        self._violations: list[tuple[str, Violation]] = []
        self._errors: list[tuple[str, BaseException]] = []
        self._handler: Handler | None = None
        self._outcomes: tuple[Handshake, ...] = ()
        self._releases: dict[str, anyio.Event] = {}
        self._scripts: dict[int | None, tuple[Step, ...]] = {}
        self._released: set[str] = set()
        self._handed_out = 0
        self._port: int | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._serve_future: Future[None] | None = None
        self._scope: anyio.CancelScope | None = None
        self._stopping = False
        self._failure_reported = False
        self._notes: list[str] = []

    # -- life -------------------------------------------------------------------------------

    def start(self) -> MockServer:
        """Bind the listener and start serving. Returns the server itself.

        The socket is bound and listening when this returns, so a client may connect at
        once (the kernel queues it until the server thread accepts).
        """
        if self._portal is not None:
            raise ServerError("this server is already started")
        sock = _listening_socket(self.options.host, self.options.port)
        self._port = sock.getsockname()[1]
        self._portal = PORTALS.get(self.options.backend)
        self._serve_future = self._portal.start_task_soon(self._serve, sock)
        return self

    def stop(self) -> None:
        """Close every connection and the listener, and wait until all their tasks have ended."""
        portal, future = self._portal, self._serve_future
        if portal is None or future is None or future.done():
            return
        portal.start_task_soon(self._cancel)
        try:
            future.result(timeout=_STOP_TIMEOUT)
        except FutureTimeout:
            raise ServerError(
                f"the mock server at {self.url} did not stop within {_STOP_TIMEOUT} s: "
                f"a handler is ignoring cancellation"
            ) from None
        except BaseException as exc:
            self._record_error("server", exc)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop the listener and every connection, stay down ``down_for`` seconds (connection
        attempts are refused meanwhile), then listen again on the same port: for testing
        reconnect loops. Records and connection numbers carry on.
        """
        self.stop()
        with self._cond:
            self._notes.append(f"restart: down for {down_for} s")
        time.sleep(down_for)
        port = self._port
        self._portal = None
        self._serve_future = None
        self._scope = None
        self._stopping = False
        sock = _listening_socket(self.options.host, port or 0)
        self._portal = PORTALS.get(self.options.backend)
        self._serve_future = self._portal.start_task_soon(self._serve, sock)

    async def restart_async(self, down_for: float = 0.0) -> None:
        """The awaitable form of :meth:`restart`."""
        await self._in_thread(lambda: self.restart(down_for))

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _cancel(self) -> None:
        # Runs in the server thread, like _serve: if _serve has not started yet, the flag
        # stops it before it accepts anything.
        self._stopping = True
        # Let the loop take in what already arrived (a client's last frames, its FIN) so the
        # record, and strict mode's verdict, do not depend on how fast teardown came.
        for _ in range(_SETTLE_ITERATIONS):
            await anyio.lowlevel.checkpoint()
        if self._scope is not None:
            self._scope.cancel()

    async def _serve(self, sock: socket.socket) -> None:
        async with anyio.create_task_group() as tg:
            self._scope = tg.cancel_scope
            if self._stopping:
                sock.close()
                return
            if self.options.deadline is not None:
                tg.start_soon(self._deadline, self.options.deadline)
            if self.options.backend == "asyncio":
                # asyncio's own protocol callbacks: several times faster per frame than
                # anyio's streams (see _fastio.py); trio keeps anyio's streams.
                await serve_asyncio(sock, self._accept, tg)
            else:
                async with await SocketListener.from_socket(sock) as listener:
                    await listener.serve(self._accept, task_group=tg)

    async def _deadline(self, seconds: float) -> None:
        await anyio.sleep(seconds)
        with self._cond:
            still_open = [c.label for c in self._connections if not c._ended]
        self._record_error(
            "server",
            WaitTimeout(
                f"the mock server's deadline of {seconds} s (option deadline) passed; it closed "
                f"its listener and {len(still_open)} open connection(s): {still_open}"
            ),
        )
        assert self._scope is not None
        self._scope.cancel()

    async def _accept(self, stream: SocketStream) -> None:
        peer = stream.extra(SocketAttribute.remote_address)
        with self._cond:
            conn = Connection(self, len(self._connections), (str(peer[0]), int(peer[1])))
            self._connections.append(conn)
            handler = self._handler
            steps = self._scripts.get(conn.index, self._scripts.get(None))
            if steps is not None:
                conn._script = steps
                handler = functools.partial(run_script, steps=steps)
            outcome = self._outcome_for(conn.index)
            open_count = sum(not c._ended for c in self._connections[:-1])
            limit = self.options.max_connections
            if limit is not None and open_count >= limit:
                # Over the limit: answered like a busy server, and noted.
                outcome = _TOO_MANY
                conn._notes.append(
                    f"max_connections: {open_count} connection(s) were open (limit {limit}); "
                    f"answered 503"
                )
            conn._handshake = outcome
            self._cond.notify_all()
        await _Driver(self, stream, conn, handler, outcome).run()

    def _outcome_for(self, index: int) -> Handshake:
        outcomes = self._outcomes or self.options.handshake
        if not outcomes:
            return _ACCEPT
        return outcomes[min(index, len(outcomes) - 1)]

    # -- addresses --------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        """``"ws"`` or ``"wss"``."""
        return "wss" if self.options.tls else "ws"

    @property
    def host(self) -> str:
        """The address the server listens on, e.g. ``127.0.0.1``."""
        return self.options.host

    @property
    def port(self) -> int:
        """The port the server listens on (picked by the kernel unless configured)."""
        if self._port is None:
            raise ServerError("the server is not started: it has no port yet")
        return self._port

    @property
    def url(self) -> str:
        """The server's URL, e.g. ``ws://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def url_for(self, path: str = "/") -> str:
        """The URL of ``path`` on this server (a leading ``/`` is added when missing)."""
        if not path.startswith("/"):
            path = "/" + path
        return self.url + path

    # -- TLS --------------------------------------------------------------------------------

    def _tls_server_context(self) -> ssl.SSLContext:
        assert self._tls is not None
        return self._tls.server_context_for(self.options.tls_fault, self.options.client_cert)

    def _require_tls(self) -> TlsMaterial:
        if self._tls is None or not self.options.tls:
            raise ConfigError(
                "this server is not a TLS server: use the wss_server fixture or "
                "ws_server_factory(tls=True)"
            )
        return self._tls

    def client_ssl_context(self) -> ssl.SSLContext:
        """A new client-side ``ssl.SSLContext`` that trusts the session CA. With
        ``client_cert=True`` (mutual TLS) it also carries the client certificate.

        (With a ``tls_fault``, the server's certificate is wrong on purpose: this context then
        makes a client refuse it, as it should.)
        """
        return self._require_tls().client_context(with_cert=self.options.client_cert)

    def client_cert_files(self) -> tuple[Path, Path]:
        """``(certificate chain PEM, private key PEM)`` of a client certificate issued by the
        session CA, for mutual TLS with clients configured by file."""
        return self._require_tls().client_cert_files()

    @property
    def ca_path(self) -> Path:
        """Path of a PEM file with the CA certificate, for clients configured by file or by
        ``SSL_CERT_FILE``."""
        return self._require_tls().ca_path

    # -- behaviour --------------------------------------------------------------------------

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
        """
        checked = check_steps(steps)
        with self._cond:
            self._scripts[connection] = checked

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

    def _open_connections(self) -> list[Connection]:
        with self._cond:
            return [c for c in self._connections if c.accepted and not c._ended]

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
        once, and wait for each to end; return how each ended."""
        connections = self._open_connections()
        if connections and self._portal is not None:
            self._portal.call(self._close_all, connections, code, reason)
        return [conn.wait_closed() for conn in connections]

    async def _close_all(
        self, connections: list[Connection], code: int | None, reason: str
    ) -> None:
        async with anyio.create_task_group() as tg:
            for conn in connections:
                if conn._driver is not None:
                    tg.start_soon(conn._driver.close, code, reason)

    async def broadcast_text_async(self, text: str, *, compress: bool | None = None) -> int:
        """The awaitable form of :meth:`broadcast_text`."""
        return await self._in_thread(lambda: self.broadcast_text(text, compress=compress))

    async def broadcast_binary_async(self, data: bytes, *, compress: bool | None = None) -> int:
        """The awaitable form of :meth:`broadcast_binary`."""
        return await self._in_thread(lambda: self.broadcast_binary(data, compress=compress))

    async def close_all_async(self, code: int | None = 1000, reason: str = "") -> list[CloseInfo]:
        """The awaitable form of :meth:`close_all`."""
        return await self._in_thread(lambda: self.close_all(code, reason))

    def release(self, label: str = "") -> None:
        """Let scripts and handlers waiting at ``wait_for_release(label)`` go on.

        A release is remembered: a connection that reaches the step later goes straight on.
        """
        with self._cond:
            self._released.add(label)
            event = self._releases.get(label)
        if event is not None and self._portal is not None:
            self._portal.call(event.set)

    def _release_event(self, label: str) -> anyio.Event:
        # Called in the server thread only.
        with self._cond:
            if label not in self._releases:
                self._releases[label] = anyio.Event()
                if label in self._released:
                    self._releases[label].set()
            return self._releases[label]

    # -- connections and waits ------------------------------------------------------------------

    @property
    def connections(self) -> list[Connection]:
        """Every connection accepted so far, in order."""
        with self._cond:
            return list(self._connections)

    def _default_timeout(self, timeout: float | None) -> float:
        return self.options.timeout if timeout is None else timeout

    def _wait(
        self,
        predicate: Callable[[], bool],
        timeout: float | None,
        awaited: Callable[[], str],
        instead: Callable[[], str],
    ) -> None:
        limit = self._default_timeout(timeout)
        with self._cond:
            # A failed script or handler ends the wait at once: its error says more than a
            # timeout would.
            if self._cond.wait_for(lambda: predicate() or self._failed(), limit) and predicate():
                return
            failure = self._failure()
            if failure is not None:
                # The test gets the failure now; teardown need not raise it a second time.
                self._failure_reported = True
            # Build the message with the lock held so that it matches what the predicate saw.
            what, seen = awaited(), instead()
        if failure is not None:
            raise failure
        hint = ""
        if _in_event_loop():
            hint = (
                " (this blocking wait ran inside an event loop, which it blocks: in async tests "
                "use the awaitable form, e.g. `await server.connection()`)"
            )
        raise WaitTimeout(f"timed out after {limit} s waiting for {what}; instead: {seen}{hint}")

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        # A worker thread does the blocking wait so the caller's event loop (asyncio or trio)
        # stays free; anyio picks the running backend itself.
        return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)

    def _describe_connections(self) -> str:
        if not self._connections:
            return "no connection arrived"
        return "; ".join(conn.describe() for conn in self._connections)

    def wait_for_connection(
        self, index: int | None = None, timeout: float | None = None
    ) -> Connection:
        """Block until a connection has arrived and the server has acted on its opening
        handshake (answered it, or closed), and return it.

        Args:
            index: which connection, from 0. By default, the next one that no earlier call to
                this method (or :meth:`connection`) returned.
            timeout: seconds to wait; the server's ``timeout`` option by default.

        Raises:
            WaitTimeout: no such connection arrived in time.
        """
        with self._cond:
            wanted = self._handed_out if index is None else index
        self._wait(
            lambda: len(self._connections) > wanted and self._connections[wanted]._handshake_done,
            timeout,
            lambda: f"connection #{wanted} to {self.url}",
            self._describe_connections,
        )
        with self._cond:
            if index is None:
                self._handed_out = max(self._handed_out, wanted + 1)
            return self._connections[wanted]

    async def connection(
        self, index: int | None = None, timeout: float | None = None
    ) -> Connection:
        """The awaitable form of :meth:`wait_for_connection`."""
        return await self._in_thread(lambda: self.wait_for_connection(index, timeout))

    # -- failures ---------------------------------------------------------------------------

    def _record_error(self, where: str, exc: BaseException) -> None:
        with self._cond:
            self._errors.append((where, exc))
            self._cond.notify_all()

    @property
    def violations(self) -> list[tuple[str, Violation]]:
        """Every protocol rule the client broke, as ``(connection label, Violation)``."""
        with self._cond:
            return list(self._violations)

    @property
    def errors(self) -> list[tuple[str, BaseException]]:
        """Exceptions raised by handlers (or by the server itself), as ``(where, exception)``."""
        with self._cond:
            return list(self._errors)

    def _failed(self) -> bool:
        # Called with the lock held.
        return bool(self._errors) or any(c._script_failure for c in self._connections)

    def _failure(self) -> WsmockError | None:
        """The error of a failed handler or script, if any (lock held or not)."""
        errors = list(self._errors)
        if errors:
            first = errors[0][1]
            text = "; ".join(f"{w}: {type(e).__name__}: {e}" for w, e in errors)
            error = ServerError(f"the mock server at {self.url} failed: {text}")
            error.__cause__ = first
            return error
        failures = [c._script_failure for c in self._connections if c._script_failure]
        if failures:
            return ScriptError("\n".join(f for f in failures if f))
        return None

    def check_deadline(self) -> None:
        """Raise now if the server's ``deadline`` has passed, and mark the failure as reported,
        so that :meth:`check` (teardown) does not raise it a second time.

        The plugin calls this after a test function returned without failing, so that the
        test fails, rather than passing with an error at teardown.

        Raises:
            WaitTimeout: the deadline passed.
            ServerError: the deadline passed and a handler failed too; the message lists both.
        """
        __tracebackhide__ = True
        with self._cond:
            passed = [
                e for where, e in self._errors if where == "server" and isinstance(e, WaitTimeout)
            ]
            if not passed or self._failure_reported:
                return
            self._failure_reported = True
            failure = self._failure() if len(self._errors) > 1 else None
        if failure is not None:
            raise failure
        # A new exception: the recorded one stays as it was, without this frame's traceback.
        raise WaitTimeout(str(passed[0]))

    def _unfinished_scripts(self) -> list[str]:
        problems = []
        with self._cond:
            connections = list(self._connections)
            scripts = dict(self._scripts)
        for conn in connections:
            if conn._script is not None and not conn._script_done and not conn._script_failure:
                problems.append(conn._script_unfinished())
        if scripts and not connections:
            problems.append(f"a script was set on {self.url} but no client connected")
        for index in sorted(i for i in scripts if i is not None and i >= len(connections)):
            problems.append(
                f"a script was set for connection #{index} on {self.url}, but only "
                f"{len(connections)} connection(s) came"
            )
        return problems

    def check(self) -> None:
        """Raise if a handler or script failed, or (in strict mode) if the client broke the
        protocol.

        The fixtures call this at teardown, so a test never needs to.

        Raises:
            ServerError: a handler raised; the first exception is chained.
            ScriptError: a script step's expectation was not met, or a script did not finish.
            ClientViolationError: strict mode is on and the client broke a rule.
        """
        __tracebackhide__ = True
        with self._cond:
            failure = None if self._failure_reported else self._failure()
        if failure is not None:
            raise failure
        unfinished = self._unfinished_scripts()
        if unfinished:
            raise ScriptError("\n".join(unfinished))
        strict = [(label, v) for label, v in self.violations if v.kind not in LIMIT_KINDS]
        if self.options.strict and strict:
            raise ClientViolationError(strict)

    @property
    def notes(self) -> list[str]:
        """Server-wide events: restarts, the deadline."""
        with self._cond:
            return list(self._notes)

    def transcript(self) -> str:
        """The readable account of every connection, as failure reports show it."""
        return render_server(self)

    def __repr__(self) -> str:
        state = self.url if self._port is not None else "not started"
        return f"<MockServer {state}, {len(self._connections)} connection(s)>"


def _listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host`` and listening: done here, in the caller's thread, rather
    than through anyio's listener factory, which resolves the address in a worker thread."""
    address = "127.0.0.1" if host == "localhost" else host
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {host} port {port}: {exc}") from exc
    return sock


def _in_event_loop() -> bool:
    """Whether the calling thread is running an asyncio or trio event loop."""
    import asyncio
    import sys

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return True
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True
