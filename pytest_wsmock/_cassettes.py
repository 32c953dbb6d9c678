"""A test's cassette: where its file is, whether this run records or replays it, and writing
it when the test ends (docs/record-replay.md).

Record modes follow vcrpy and pytest-recording (``--wsmock-record-mode``):

- ``none`` (the default): replay; a missing cassette fails the test, naming the command that
  records it, so CI never reaches the network by accident;
- ``once``: replay when the cassette exists, else record it;
- ``new_episodes``: replay the recorded connections, and record connections past them (added
  to the file);
- ``all``: record every time, replacing the file.

Recording relays each connection to ``upstream`` (the proxy) and writes the upstream legs,
filtered of secrets, when the test's servers have stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ._cassette import Cassette, CassetteConnection
from ._cassette_io import load, save
from ._cassette_record import from_record, refused
from ._cassette_secrets import Secrets, scrub
from ._errors import ConfigError
from ._replay import Replay

if TYPE_CHECKING:
    from ._server import MockServer

RecordMode = Literal["none", "once", "new_episodes", "all"]
RECORD_MODES: tuple[RecordMode, ...] = ("none", "once", "new_episodes", "all")
#: The command-line option that sets the mode.
OPTION = "--wsmock-record-mode"


@dataclass(frozen=True)
class CassetteContext:
    """What the plugin knows of the test: where its module is, its name, the mode."""

    directory: Path
    module: str
    test: str
    nodeid: str
    mode: RecordMode = "none"


def file_name(test: str) -> str:
    """A file name for a test's name (``test_x[a/b]`` -> ``test_x-a-b``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", test).strip("-") or "cassette"


def cassette_path(context: CassetteContext, cassette: str | bool) -> Path:
    """``cassettes/<module>/<name>.json`` beside the test module; ``True`` names it after
    the test; a name ending in ``.json`` is a path (relative to the test module's folder)."""
    if cassette is True:
        return context.directory / "cassettes" / context.module / f"{file_name(context.test)}.json"
    if not isinstance(cassette, str) or not cassette:
        raise ConfigError(
            f"wsmock option cassette must be a name, a path ending in .json, or True (named "
            f"after the test), got {cassette!r}"
        )
    if cassette.endswith(".json"):
        return context.directory / cassette
    return context.directory / "cassettes" / context.module / f"{file_name(cassette)}.json"


class CassetteUse:
    """One server's cassette in one test: set up replay or recording, and save at the end."""

    def __init__(self, server: MockServer, context: CassetteContext) -> None:
        options = server.options
        assert options.cassette is not None
        self.server = server
        self.path = cassette_path(context, options.cassette)
        self.mode = context.mode
        self.secrets: Secrets = options.cassette_secrets or Secrets()
        self.existing: Cassette | None = load(self.path) if self.path.exists() else None
        self.recording = self.mode == "all" or self.existing is None or self.mode == "new_episodes"
        if self.existing is None and self.mode == "none":
            raise ConfigError(
                f"no cassette at {self.path}, and {OPTION}=none (the default, so that tests "
                f"never reach the network unasked): record it once with\n"
                f'    pytest {OPTION}=once "{context.nodeid}"\n'
                f"(the test needs upstream='wss://...' in its wsmock marker), then commit the file"
            )
        if self.recording and options.upstream is None:
            raise ConfigError(
                f"recording the cassette {self.path} ({OPTION}={self.mode}) needs the real "
                f"service: add upstream='wss://...' to the wsmock marker or the factory call"
            )
        replayed = self.existing if self.mode in ("none", "once", "new_episodes") else None
        self.replay: Replay | None = None
        self._reported = False
        if replayed is not None:
            # With a proxy set too (new_episodes), connections past the recorded ones are relayed.
            self.replay = server.replay(
                replayed, timing=options.replay_timing, match=options.cassette_match
            )
        if self.recording and options.upstream is not None:
            server.proxy_to(options.upstream, ssl=options.upstream_ssl)
        if replayed is not None and self.mode != "new_episodes":
            self.recording = False

    def problems(self) -> str | None:
        """What the replay found the client did not follow, or why a recording failed, once
        (``None``: nothing): a cassette in CI must stay the conversation the client has."""
        if self._reported:
            return None
        failed = self._upstream_failures()
        if failed:
            self._reported = True
            lines = "\n".join(f"  - {line}" for line in failed)
            return (
                f"recording the cassette {self.path} ({OPTION}={self.mode}): the upstream "
                f"could not be opened, so the client was answered 502:\n{lines}\n"
                f"The cassette was not written; check the upstream URL, the network, and "
                f"upstream_ssl, then record again"
            )
        if self.replay is None:
            return None
        found = [*self.server.replay_overflow]
        if self.mode != "new_episodes":
            found += self.replay.unplayed()
        if not found:
            return None
        self._reported = True
        lines = "\n".join(f"  - {line}" for line in found)
        return (
            f"the client did not follow the cassette {self.path}:\n{lines}\n"
            f"If the client changed on purpose, record the cassette again: "
            f"pytest {OPTION}=all <this test>"
        )

    def finish(self) -> Path | None:
        """Write the cassette when this run recorded (after the servers stopped); its path."""
        if not self.recording or self._upstream_failures():
            return None  # a failed recording writes nothing (problems() says why)
        recorded = self._recorded()
        if self.mode == "new_episodes" and self.existing is not None:
            if not recorded:
                return None
            connections = (*self.existing.connections, *recorded)
        else:
            connections = tuple(recorded)
        match = self.existing.match if self.existing is not None else Cassette().match
        cassette = scrub(Cassette(connections, match), self.secrets)
        save(cassette, self.path)
        return self.path

    def _upstream_failures(self) -> list[str]:
        """The relayed connections whose upstream could not be opened (recording only)."""
        if not self.recording:
            return []
        return [
            f"connection #{number}: {session.failure.url}: {session.failure.cause}"
            for number, session in enumerate(self.server.proxy_sessions)
            if session.failure is not None
        ]

    def _recorded(self) -> list[CassetteConnection]:
        made: list[CassetteConnection] = []
        for session in self.server.proxy_sessions:
            if session.upstream is not None:
                connection = from_record(session.upstream.record)
                if connection is not None:
                    made.append(connection)
            elif session.refusal is not None:
                made.append(refused(*session.refusal))
        return made


__all__ = [
    "OPTION",
    "RECORD_MODES",
    "CassetteContext",
    "CassetteUse",
    "RecordMode",
    "cassette_path",
]
