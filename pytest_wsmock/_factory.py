"""Building, tracking and tearing down the servers of one test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._errors import ServerError, WsmockError
from ._options import ServerOptions
from ._server import MockServer
from ._tls import TlsMaterial


class ServerFactory:
    """Starts mock servers for one test and stops them all at its end.

    You get one from the ``ws_server_factory`` fixture. Call it with any
    :class:`ServerOptions` field as a keyword argument; options you leave out come from the
    test's ``wsmock`` marker, then from the ini file, then from the defaults.
    """

    def __init__(self, defaults: ServerOptions, tls: Callable[[], TlsMaterial]) -> None:
        self.defaults = defaults
        self._tls = tls
        self.servers: list[MockServer] = []

    def __call__(self, **options: Any) -> MockServer:
        """Start a new server with these options, and return it."""
        merged = self.defaults.replace(**options)
        server = MockServer(merged, tls=self._tls() if merged.tls else None)
        server.start()
        self.servers.append(server)
        return server

    def close(self) -> None:
        """Stop every server, then raise the first server's failure (handler error, or client
        violation in strict mode)."""
        __tracebackhide__ = True
        problems: list[WsmockError] = []
        for server in self.servers:
            try:
                server.stop()
            except WsmockError as exc:
                problems.append(exc)
        for server in self.servers:
            try:
                server.check()
            except WsmockError as exc:
                problems.append(exc)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise ServerError(
                "several mock servers failed:\n" + "\n".join(f"- {p}" for p in problems)
            ) from problems[0]
