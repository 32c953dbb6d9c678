"""Replaying a cassette on the server: ``ws_server.replay(cassette)`` (docs/record-replay.md).

`ReplayServer` is the part of :class:`MockServer` that hands WebSocket connections no route
serves to a :class:`Replay`: the index-th of them gets the index-th recorded connection (its
recorded answer and conversation); the server-wide rules still apply to it. ``_server.py``
asks :meth:`ReplayServer._replay_behaviour` under its lock, once a request is parsed.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ._cassette import Cassette, MatchRules
from ._handshakes import Handshake
from ._live import Connection
from ._options import ServerOptions
from ._protocol import Request
from ._replay import Replay, Timing
from ._routes import Behaviour
from ._server_live import LiveServer

if TYPE_CHECKING:
    from ._tls import TlsMaterial

__all__ = ["ReplayServer"]


class ReplayServer(LiveServer):
    """The replay part of :class:`MockServer` (see :meth:`replay`)."""

    def __init__(self, options: ServerOptions | None = None, *, tls: TlsMaterial | None = None):
        super().__init__(options, tls=tls)
        self._replay: Replay | None = None
        # WebSocket connections handed to the replay so far: the next one's cassette index.
        self._replayed = 0
        #: Connections refused (503) because the cassette had no more connections.
        self.replay_overflow: list[str] = []

    def replay(
        self, cassette: Cassette, *, timing: Timing = "immediate", match: MatchRules | None = None
    ) -> Replay:
        """Answer WebSocket connections from ``cassette``: the first connection that no route
        serves gets the first recorded connection, and so on (docs/record-replay.md).

        Each gets the recorded answer (a 101 with the recorded subprotocol and extensions, or
        the recorded refusal) and the recorded conversation as a script: the server's messages
        are sent once the client messages recorded before them came and matched (exactly, or
        under ``match``, by default the cassette's rules); a client message that differs fails
        the test with a ``ScriptError`` naming it, with a diff and the transcript. Connections
        after the last recorded one are refused with 503 and a note. Server-wide rules
        (``ws_server.on(...)``) apply as with any script; a ``ws_server.handshake(...)`` outcome
        that does not open the connection (a rejection, a fault) takes precedence, and that
        connection does not use up a recorded one; the delay or trickle of an accepting
        outcome applies to the recorded answer.

        For those connections the replay replaces the server-wide ``script()`` and
        ``handler()``; routes (``ws_server.route(...)``) come first and use up no recorded
        connection. A later ``replay()`` replaces the cassette, for connections accepted after
        the call, starting again at its first connection.

        Args:
            cassette: the recording.
            timing: ``"immediate"`` (send at once) or ``"recorded"`` (wait the recorded gap
                before each server message).
            match: how client messages are compared (``None``: ``cassette.match``).

        Returns:
            The :class:`Replay`; its ``unplayed()`` lists the recorded connections no client
            requested.

        Raises:
            ConfigError: not a cassette, an unknown ``timing``, or invalid ``match`` rules.
        """
        made = Replay(cassette, timing=timing, match=match)
        with self._cond:
            self._replay = made
            self._replayed = 0
        return made

    def _replay_behaviour(
        self, conn: Connection, request: Request | None, fallback: Behaviour
    ) -> Behaviour | None:
        """The replayed behaviour of ``conn`` (the server's lock held), or ``None`` when no
        replay is set, there is no request, or the server-wide outcome (``fallback``'s) does
        not open the connection."""
        replay = self._replay
        if replay is None or request is None:
            return None
        outcome = fallback.outcome
        if not outcome.accepts:
            conn.note(
                f"replay: not replayed, the handshake outcome {outcome.id!r} (ws_server."
                f"handshake) answers this connection; the next one gets cassette connection "
                f"#{self._replayed}"
            )
            return None
        index = self._replayed
        self._replayed += 1
        chosen = replay.behaviour_for(index, request)
        if chosen is None:
            count = len(replay.cassette.connections)
            note = (
                f"replay: the cassette has {count} connection(s); this is replayed connection "
                f"#{index}: answered 503"
            )
            self._notes.append(f"{conn.label}: {note}")
            self.replay_overflow.append(f"{conn.label}: {note}")
            conn.note(note)
            body = f"wsmock replay: the cassette has no connection #{index} (it has {count})\n"
            refused = Handshake.reject(503, body=body).named(
                "replay-exhausted", "503: the cassette has no more connections"
            )
            return Behaviour(refused, rules=fallback.rules)
        handshake, steps = chosen
        for note in replay.notes_for(index):
            conn.note(note)
        handshake = dataclasses.replace(
            handshake,
            delay=outcome.delay,
            chunk_size=outcome.chunk_size,
            chunk_interval=outcome.chunk_interval,
            allowed_origins=outcome.allowed_origins,
        )
        return Behaviour(handshake, steps=steps, rules=fallback.rules)
