"""Relaying: the part of :class:`MockServer` that hands connections to a proxy
(``proxy_to``, docs/proxy.md) or to a replay (``replay``, ``_server_replay.py``) instead of
the server's own handler or script.

The behaviour half (``_server.py``) asks :meth:`RelayServer._relay_behaviour` for each
WebSocket connection that no route serves. With both a replay and a proxy set (the
``new_episodes`` record mode), the recorded connections are replayed first and the ones past
them relayed.
"""

from __future__ import annotations

import dataclasses
import ssl as _ssl
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ._connection import ConnectionRecord
from ._live import Connection
from ._options import ServerOptions
from ._protocol import Request
from ._proxy import Proxy, ProxySession
from ._routes import Behaviour
from ._server_replay import ReplayServer

if TYPE_CHECKING:
    from ._tls import TlsMaterial


class RelayServer(ReplayServer):
    """The relaying part of :class:`MockServer` (see its documentation)."""

    def __init__(self, options: ServerOptions | None = None, *, tls: TlsMaterial | None = None):
        super().__init__(options, tls=tls)
        self._proxy: Proxy | None = None
        #: Every relayed connection's session, in the order the connections were listed.
        self.proxy_sessions: list[ProxySession] = []

    def proxy_to(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None = None,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        timeout: float | None = None,
    ) -> Proxy:
        """Relay every WebSocket connection to ``url`` from now on (docs/proxy.md).

        Each client's request (its path and query appended to ``url``'s path, its
        subprotocols, and its ``Authorization``, ``Cookie``, ``Origin`` and ``User-Agent``
        headers) is passed on; the client gets the upstream's answer (``502`` naming the cause
        when the upstream cannot be reached or answers wrongly), then every message both ways.
        ``conn.upstream`` holds the upstream leg's record. The :class:`Proxy` returned sets
        faults, delays and rules on the way.

        Args:
            url: the upstream, ``ws://`` or ``wss://``.
            ssl: the context for a ``wss://`` upstream (default: the system's trusted CAs).
            headers: headers to add to (or replace in) each upstream request.
            timeout: the bound on connecting upstream (default: the ``timeout`` option).

        Raises:
            ConfigError: ``url`` is not a ``ws://`` or ``wss://`` URL.
        """
        made = Proxy(
            url,
            ssl=ssl,
            headers=headers,
            timeout=self.options.timeout if timeout is None else timeout,
            max_message_size=self.options.max_message_size,
            close_timeout=self.options.close_timeout,
        )
        with self._cond:
            self._proxy = made
        return made

    def _relay_behaviour(
        self, conn: Connection, request: Request | None, chosen: Behaviour
    ) -> Behaviour | None:
        """What a replay or the proxy does on ``conn`` (lock held), or ``None``: neither is
        set, or there is no request."""
        if request is None:
            return None
        replay = self._replay
        if replay is not None and (
            self._proxy is None or self._replayed < len(replay.cassette.connections)
        ):
            return self._replay_behaviour(conn, request, chosen)
        proxy = self._proxy
        if proxy is None:
            return None
        session = proxy.session(conn.note, self._cond)
        self.proxy_sessions.append(session)

        def attach(record: ConnectionRecord) -> None:
            conn.upstream = record

        session.on_upstream = attach
        return dataclasses.replace(
            chosen,
            handler=session.relay,
            steps=None,
            prepare=session.prepare,
            release=session.release,
        )
