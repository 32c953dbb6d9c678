"""The life of a mock server: listening, stopping, addresses, TLS, waits and failure plumbing.

`ServerBase` is what every mock server is as a running thing; :class:`MockServer`
(``_server.py``) adds the behaviour (handshakes, scripts, handlers, live control) on top.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.abc import SocketListener, SocketStream

from ._errors import (
    ConfigError,
    ScriptError,
    ServerError,
    WaitTimeout,
    WsmockError,
)
from ._fastio import serve_asyncio
from ._live import Connection, Waits, refuse_in_loop
from ._loop import PORTALS, listening_socket
from ._options import ServerOptions
from ._preview import DEFAULT_PREVIEW
from ._protocol import Violation
from ._routes import url_with_scheme
from ._transcript import render_server

if TYPE_CHECKING:
    from ._tls import TlsMaterial

T = TypeVar("T")

_STOP_TIMEOUT = 10.0
#: Event-loop iterations run before teardown cancels the connections: enough to see readiness
#: of data already in the kernel (one) and to let the readers act on it (one more), with a spare.
_SETTLE_ITERATIONS = 3

_S = TypeVar("_S", bound="ServerBase")


class ServerBase:
    """The lifecycle half of :class:`MockServer` (see its documentation)."""

    def __init__(self, options: ServerOptions | None = None, *, tls: TlsMaterial | None = None):
        self.options = options or ServerOptions()
        self.options.check_tls()
        if self.options.tls and tls is None:
            raise ConfigError("a TLS server needs TLS material: pass tls=TlsMaterial(...)")
        self._tls = tls
        self._cond = threading.Condition()
        self._connections: list[Connection] = []
        self._errors: list[tuple[str, BaseException]] = []
        self._handed_out = 0
        self._port: int | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._serve_future: Future[None] | None = None
        self._scope: anyio.CancelScope | None = None
        self._stopping = False
        self._notes: list[str] = []
        #: Failures already raised (to the test or by a wait), so none is reported twice:
        #: ``("error", i)``, ``("script", connection)``, ``("violation", sequence)``, ...
        self._reported: set[tuple[str, int]] = set()
        self._waits = Waits(
            self._cond, self.options.timeout, self._failure, self._mark_failure_reported
        )

    def start(self: _S) -> _S:
        """Bind the listener and start serving. Returns the server itself.

        The socket is bound and listening when this returns, so a client may connect at
        once (the kernel queues it until the server thread accepts).
        """
        if self._portal is not None:
            raise ServerError("this server is already started")
        sock = listening_socket(self.options.host, self.options.port)
        self._port = sock.getsockname()[1]
        self._portal = PORTALS.get(self.options.backend)
        self._serve_future = PORTALS.spawn(self.options.backend, self._serve, sock)
        return self

    def stop(self) -> None:
        """Close every connection and the listener, and wait until all their tasks have ended.

        Raises:
            BlockingCallError: called from a thread that runs an event loop (use
                ``await stop_async()``).
        """
        refuse_in_loop("server.stop()", "await server.stop_async()")
        self._stop()

    async def stop_async(self) -> None:
        """The awaitable form of :meth:`stop`."""
        await self._waits.in_thread(self._stop)

    def _stop(self) -> None:
        portal, future = self._portal, self._serve_future
        if portal is None or future is None or future.done():
            return
        PORTALS.spawn(self.options.backend, self._cancel)
        try:
            future.result(timeout=_STOP_TIMEOUT)
        except FutureTimeout:
            raise ServerError(
                f"the mock server at {self.url} did not stop within {_STOP_TIMEOUT} s: "
                f"a handler is ignoring cancellation"
            ) from None
        except BaseException as exc:
            self.record_error("server", exc)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop the listener and every connection, stay down ``down_for`` seconds (connection
        attempts are refused meanwhile), then listen again on the same port: for testing
        reconnect loops. Records and connection numbers carry on.

        Raises:
            BlockingCallError: called from a thread that runs an event loop (use
                ``await restart_async()``).
        """
        refuse_in_loop("server.restart()", "await server.restart_async()")
        self._restart(down_for)

    def _restart(self, down_for: float) -> None:
        self._stop()
        with self._cond:
            self._notes.append(f"restart: down for {down_for} s")
        time.sleep(down_for)
        port = self._port
        self._portal = None
        self._serve_future = None
        self._scope = None
        self._stopping = False
        sock = listening_socket(self.options.host, port or 0)
        self._portal = PORTALS.get(self.options.backend)
        self._serve_future = PORTALS.spawn(self.options.backend, self._serve, sock)

    async def restart_async(self, down_for: float = 0.0) -> None:
        """The awaitable form of :meth:`restart`."""
        await self._waits.in_thread(lambda: self._restart(down_for))

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self: _S) -> _S:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_async()

    def settle(self) -> None:
        """Let the server take in what already reached it (a client's last frames, its FIN),
        and let the scripts of connections that have ended run their lifecycle to the end
        (bounded by ``close_timeout``), without stopping anything.

        The plugin calls this when the test function returns, before :meth:`check`, so that
        the verdict does not depend on how fast the test ended.

        Raises:
            BlockingCallError: called from a thread that runs an event loop (use
                ``await settle_async()``).
        """
        refuse_in_loop("server.settle()", "await server.settle_async()")
        self._settle_now()

    async def settle_async(self) -> None:
        """The awaitable form of :meth:`settle`."""
        await self._waits.in_thread(self._settle_now)

    def _settle_now(self) -> None:
        portal, future = self._portal, self._serve_future
        if portal is None or future is None or future.done():
            return
        settled = PORTALS.spawn(self.options.backend, self._settle)
        try:
            # _settle is bounded by close_timeout itself; this is the backstop.
            settled.result(timeout=self.options.close_timeout + _STOP_TIMEOUT)
        except FutureTimeout:
            settled.cancel()
            with self._cond:
                self._notes.append(
                    f"settle: the scripts did not settle within {self.options.close_timeout} s "
                    f"(close_timeout)"
                )

    async def _settle(self) -> None:
        # Let the loop take in what already arrived (a client's last frames, its FIN) so the
        # record, and strict mode's verdict, do not depend on how fast the test ended.
        for _ in range(_SETTLE_ITERATIONS):
            await anyio.lowlevel.checkpoint()
        await self._settle_behaviour()

    async def _cancel(self) -> None:
        # Runs in the server thread, like _serve: if _serve has not started yet, the flag
        # stops it before it accepts anything.
        self._stopping = True
        await self._settle()
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
            still_open = [c.label for c in self._connections if not c.closed]
        self.record_error(
            "server",
            WaitTimeout(
                f"the mock server's deadline of {seconds} s (option deadline) passed; it closed "
                f"its listener and {len(still_open)} open connection(s): {still_open}"
            ),
        )
        assert self._scope is not None
        self._scope.cancel()

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

    def url_for(self, path: str = "/", scheme: str | None = None) -> str:
        """The URL of ``path`` on this server (a leading ``/`` is added when missing).

        ``scheme="http"`` gives the ``http://`` URL of a plain server, for the plain HTTP it
        answers (``ws_server.http(...)``); a TLS server's are ``https``/``wss``. By default,
        the WebSocket URL.

        Raises:
            ConfigError: a scheme this server does not speak (``"https"`` on a plain server,
                ``"ws"`` on a TLS one); the message names the right one.
        """
        if not path.startswith("/"):
            path = "/" + path
        return url_with_scheme(self.url, scheme, tls=self.options.tls) + path

    def tls_server_context(self) -> ssl.SSLContext:
        """The server-side ``ssl.SSLContext`` (with the configured TLS fault)."""
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

    @property
    def connections(self) -> list[Connection]:
        """Every connection that reached the server so far, opened or not (handshake rejected,
        TLS failed, closed before a complete request; :attr:`Connection.accepted` says which
        opened), in the order they were listed: a connection is listed, and numbered, once its
        request shows a WebSocket request, or once it ends before a complete request. Plain
        HTTP requests are not connections (see ``http_requests``)."""
        with self._cond:
            return list(self._connections)

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
            BlockingCallError: called from a thread that runs an event loop (use
                ``await connection()``).
        """
        refuse_in_loop("server.wait_for_connection()", "await server.connection()")
        return self._wait_for_connection(index, timeout)

    def _wait_for_connection(self, index: int | None, timeout: float | None) -> Connection:
        with self._cond:
            wanted = self._handed_out if index is None else index
        self._waits.wait(
            lambda: len(self._connections) > wanted and self._connections[wanted].handshake_done,
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
        return await self._waits.in_thread(lambda: self._wait_for_connection(index, timeout))

    def record_error(self, where: str, exc: BaseException) -> None:
        """Record a failure of a handler or of the server; the test fails with it."""
        with self._cond:
            self._errors.append((where, exc))
            self._cond.notify_all()

    @property
    def violations(self) -> list[tuple[str, Violation]]:
        """Every protocol rule the client broke, as ``(connection label, Violation)``."""
        with self._cond:
            numbered = [
                (number, conn.label, violation)
                for conn in self._connections
                for number, violation in conn.numbered_violations()
            ]
        return [(label, violation) for _, label, violation in sorted(numbered, key=_first)]

    @property
    def errors(self) -> list[tuple[str, BaseException]]:
        """Exceptions raised by handlers (or by the server itself), as ``(where, exception)``."""
        with self._cond:
            return list(self._errors)

    def _failure_parts(
        self, deadline_as_timeout: bool = False
    ) -> tuple[WsmockError | None, list[tuple[str, int]]]:
        """The error of a failed handler or script not reported yet, if any, and the keys of
        what it reports (lock held). ``deadline_as_timeout``: the deadline alone is raised as
        the :class:`WaitTimeout` it is (a wait raises the server's failure as a whole)."""
        errors = [
            (i, where, exc)
            for i, (where, exc) in enumerate(self._errors)
            if ("error", i) not in self._reported
        ]
        if errors:
            keys = [("error", i) for i, _, _ in errors]
            first = errors[0][2]
            deadline = errors[0][1] == "server" and isinstance(first, WaitTimeout)
            if deadline_as_timeout and len(errors) == 1 and deadline:
                # The deadline alone: a new exception, so the recorded one stays as it was,
                # without the traceback of where it is raised.
                return WaitTimeout(str(first)), keys
            text = "; ".join(f"{w}: {type(e).__name__}: {e}" for _, w, e in errors)
            error = ServerError(f"the mock server at {self.url} failed: {text}")
            error.__cause__ = first
            return error, keys
        failed = [
            c
            for c in self._connections
            if c.script_failure and ("script", c.index) not in self._reported
        ]
        if failed:
            text = "\n".join(c.script_failure or "" for c in failed)
            return ScriptError(text), [("script", c.index) for c in failed]
        return None, []

    def _failure(self) -> WsmockError | None:
        """The error of a failed handler or script not reported yet, if any (lock held)."""
        return self._failure_parts()[0]

    def _mark_failure_reported(self) -> None:
        """What :meth:`_failure` returns now has been raised (lock held)."""
        self._reported.update(self._failure_parts()[1])

    def take_failure(self) -> WsmockError | None:
        """The failure of a handler, a script or the server (its ``deadline``) that no wait
        and no check raised yet, marked as raised now; ``None`` when there is none."""
        with self._cond:
            failure, keys = self._failure_parts(deadline_as_timeout=True)
            self._reported.update(keys)
        return failure

    def check_deadline(self) -> None:
        """Raise now if the server's ``deadline`` has passed and nothing raised it yet (and
        mark it reported, so that :meth:`check` does not raise it a second time).

        Raises:
            WaitTimeout: the deadline passed.
            ServerError: the deadline passed and a handler failed too; the message lists both.
        """
        __tracebackhide__ = True
        with self._cond:
            passed = any(
                where == "server"
                and isinstance(exc, WaitTimeout)
                and ("error", i) not in self._reported
                for i, (where, exc) in enumerate(self._errors)
            )
        failure = self.take_failure() if passed else None
        if failure is not None:
            raise failure

    @property
    def notes(self) -> list[str]:
        """Server-wide events: restarts, the deadline."""
        with self._cond:
            return list(self._notes)

    @property
    def show_credentials(self) -> bool:
        """Whether transcripts show credential header values (the ``show_credentials`` option)."""
        return self.options.show_credentials

    def transcript(self, *, preview: int = DEFAULT_PREVIEW) -> str:
        """The readable account of every connection, as failure reports show it; ``preview``
        caps each payload shown (characters of text, bytes of binary; 0: no cap)."""
        return render_server(self, preview=preview)

    def __repr__(self) -> str:
        state = self.url if self._port is not None else "not started"
        return f"<MockServer {state}, {len(self._connections)} connection(s)>"

    async def _accept(self, stream: SocketStream) -> None:
        """Serve one accepted connection (:class:`MockServer` implements it)."""
        raise NotImplementedError

    async def _settle_behaviour(self) -> None:
        """Before teardown cancels the connections: let behaviour finish what the state of the
        connections already decides (:class:`MockServer` implements it)."""


def _first(item: tuple[int, str, Violation]) -> int:
    return item[0]
