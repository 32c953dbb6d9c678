"""Building, tracking and tearing down the servers of one test."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._cassettes import CassetteContext, CassetteUse
from ._errors import ScriptError, ServerError, WsmockError
from ._options import ServerOptions
from ._server import MockServer
from ._tls import TlsMaterial


class ServerFactory:
    """Starts mock servers for one test and stops them all at its end.

    You get one from the ``ws_server_factory`` fixture. Call it with any
    :class:`ServerOptions` field as a keyword argument; options you leave out come from the
    test's ``wsmock`` marker, then from the ini file, then from the defaults.
    """

    def __init__(
        self,
        defaults: ServerOptions,
        tls: Callable[[], TlsMaterial],
        cassettes: CassetteContext | None = None,
    ) -> None:
        self.defaults = defaults
        self._tls = tls
        self._cassettes = cassettes
        self.servers: list[MockServer] = []
        self._held: list[socket.socket] = []
        self._uses: list[CassetteUse] = []
        #: The cassette files this test wrote (recording), once it has ended.
        self.written: list[Path] = []

    def __call__(self, **options: Any) -> MockServer:
        """Start a new server with these options, and return it."""
        merged = self.defaults.replace(**options) if options else self.defaults
        server = MockServer(merged, tls=self._tls() if merged.tls else None)
        server.start()
        self.servers.append(server)
        if merged.cassette is not None:
            context = self._cassettes or CassetteContext(Path.cwd(), "cassettes", "test", "test")
            self._uses.append(CassetteUse(server, context))
        return server

    def refused_url(self, path: str = "/", scheme: str = "ws") -> str:
        """A URL on 127.0.0.1 whose port refuses connections, reliably, for the whole test.

        The port is held by a socket that is bound but not listening, so no other program can
        take it and every connection attempt gets a reset (``ConnectionRefusedError``).
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._held.append(sock)
        port = sock.getsockname()[1]
        return f"{scheme}://127.0.0.1:{port}{path if path.startswith('/') else '/' + path}"

    def verdict(self) -> None:
        """Settle every server, then raise what failed (a handler error, a script failure,
        a client violation in strict mode, the deadline): the plugin calls this when the test
        function returns, so the test fails as its own failure (``xfail`` applies).

        Raises:
            WsmockError: the one server's failure, or a :class:`ServerError` listing several.
        """
        __tracebackhide__ = True
        for server in self.servers:
            server.settle()
        _raise_first(_checked(self.servers) + self._cassette_problems())

    def failures(self) -> list[WsmockError]:
        """Settle every server and return, without raising, what failed and was not reported
        yet (each failure is then marked reported): for the report of a test function that
        failed itself, where the servers' failures explain it."""
        for server in self.servers:
            server.settle()
        return _checked(self.servers) + self._cassette_problems()

    def close(self) -> None:
        """Stop every server, then raise what failed since :meth:`verdict` (or everything,
        when the test function failed and :meth:`verdict` did not run)."""
        __tracebackhide__ = True
        for sock in self._held:
            sock.close()
        problems: list[WsmockError] = []
        for server in self.servers:
            try:
                server.stop()
            except WsmockError as exc:
                problems.append(exc)
        for use in self._uses:
            written = use.finish()
            if written is not None:
                self.written.append(written)
        _raise_first(problems + _checked(self.servers) + self._cassette_problems())

    def _cassette_problems(self) -> list[WsmockError]:
        """A replayed cassette that the client did not follow: connections past the recorded
        ones, recorded connections never requested (each reported once)."""
        problems: list[WsmockError] = []
        for use in self._uses:
            found = use.problems()
            if found:
                problems.append(ScriptError(found))
        return problems


def _checked(servers: list[MockServer]) -> list[WsmockError]:
    __tracebackhide__ = True
    problems: list[WsmockError] = []
    for server in servers:
        try:
            server.check()
        except WsmockError as exc:
            problems.append(exc)
    return problems


def _raise_first(problems: list[WsmockError]) -> None:
    __tracebackhide__ = True
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ServerError(
            "several mock servers failed:\n" + "\n".join(f"- {p}" for p in problems)
        ) from problems[0]
