"""Replay: a cassette's recorded connection turned into what the server does on one connection.

:class:`Replay` gives the index-th WebSocket connection the index-th recorded connection, as
a :class:`Handshake` (the recorded answer) and script steps (the recorded conversation). The
server (``_server_replay.py``) asks it once a request is parsed, like a route.

The steps, in recorded order:

- a client message becomes an expectation (:class:`ReplayExpect`): the client's next message
  must match it, exactly or under the cassette's :class:`MatchRules`; a deviation fails the
  script with ``cassette connection #0, client message #3: expected ..., received ...`` and
  an explanation (a JSON path, a diff, a byte offset);
- a server message becomes ``send_text``/``send_binary``, sent once the client messages
  recorded before it were received and matched; with ``timing="recorded"`` a ``wait`` of the
  recorded gap since the previous event comes first;
- the first close of the recording ends the steps: the server's close frame becomes
  ``close(code, reason)`` (the server's TCP end without one, ``Fault.drop()``); the client's
  close frame becomes an expectation of the client's close (:class:`ReplayClose`: a different
  code is noted, not failed); a client that ended TCP without a close frame leaves nothing to
  expect. Events after the first close (the other side's answer) are the server's automatic
  behaviour and are not replayed.

Everything else is the script machinery's: the lifecycle of docs/scripts.md (what is left when
the connection ends first), ``ScriptError`` with the transcript, and the server-wide rules and
faults, which apply as they do to any script.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from ._cassette import (
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteMessage,
    CassetteResponse,
    MatchRules,
)
from ._cassette_match import check_rules, difference
from ._errors import ConfigError, ConnectionClosed
from ._faults import Fault
from ._handshake_base import AUTO, Auto
from ._handshakes import Handshake
from ._protocol import Request
from ._records import Frame, Message, preview
from ._steps import Step, StepEnded, StepFailed, close, expect_close, send_binary, send_text, wait
from ._websocket import WebSocket

__all__ = ["Replay", "ReplayClose", "ReplayExpect", "Timing"]

#: How replay paces the server's messages: ``"immediate"`` sends each as soon as the client
#: messages before it have come; ``"recorded"`` also waits the recorded gap since the
#: previous event.
Timing = Literal["recorded", "immediate"]

#: Response headers the handshake writes itself (not replayed from the recording).
_HANDSHAKE_HEADERS = frozenset(
    {
        "upgrade",
        "connection",
        "sec-websocket-accept",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
        "sec-websocket-version",
        "content-length",
        "transfer-encoding",
    }
)
_BODY_HEADERS = frozenset({"content-length", "transfer-encoding"})


def _shown(data: str | bytes) -> str:
    """A short preview of a message: ``text '...'`` or ``binary b'...'``."""
    if isinstance(data, str):
        return f"text {preview(data.encode(), 120)}"
    return f"binary {preview(data, 120)}"


@dataclass(frozen=True, repr=False)
class ReplayExpect(Step):
    """A recorded client message, as an expectation: the client's next message must match it.

    Attributes:
        connection: the recorded connection's position in the cassette.
        number: the message's position among that connection's client messages (from 0).
        recorded: the recorded message.
        rules: how the messages are compared.
        timeout: seconds to wait for the message (``None``: the server's ``timeout``).
    """

    expects = True
    connection: int
    number: int
    recorded: CassetteMessage
    rules: MatchRules
    timeout: float | None = None

    @property
    def where(self) -> str:
        """``cassette connection #0, client message #3``."""
        return f"cassette connection #{self.connection}, client message #{self.number}"

    def describe(self) -> str:
        return f"replay client message #{self.number} ({_shown(self.recorded.data)})"

    def trigger_kind(self) -> str:
        return "message"

    def difference(self, message: Message) -> str | None:
        """``None`` when ``message`` matches the recorded one, else why not."""
        kind: Literal["text", "binary"] = "text" if message.is_text else "binary"
        return difference(self.recorded, kind, message.value, self.rules)

    def matches(self, item: Message | Frame) -> bool:
        return isinstance(item, Message) and self.difference(item) is None

    async def run(self, ws: WebSocket) -> None:
        expected = _shown(self.recorded.data)
        try:
            message = await ws.receive(self.timeout)
        except TimeoutError as exc:
            raise StepFailed(f"{self.where}: expected {expected}, no message came: {exc}") from None
        except ConnectionClosed as exc:
            raise StepEnded(
                f"{self.where}: expected {expected}, the connection closed first ({exc})"
            ) from None
        why = self.difference(message)
        if why is not None:
            explained = "  " + why.replace("\n", "\n  ")  # indented under the first line
            raise StepFailed(
                f"{self.where}: expected {expected}, received {_shown(message.value)}\n{explained}"
            )


@dataclass(frozen=True, repr=False)
class ReplayClose(Step):
    """The client's recorded close frame, as an expectation: the client must close next (a
    message instead fails; a different close code is noted, not failed).

    Attributes:
        connection: the recorded connection's position in the cassette.
        recorded: the client's recorded close.
        timeout: seconds to wait (``None``: the server's ``timeout``).
    """

    expects = True
    connection: int
    recorded: CassetteClose
    timeout: float | None = None

    def describe(self) -> str:
        code = "" if self.recorded.code is None else str(self.recorded.code)
        return f"replay client close({code})"

    async def run(self, ws: WebSocket) -> None:
        where = f"cassette connection #{self.connection}, the client's close"
        try:
            await expect_close(None, timeout=self.timeout).run(ws)
        except StepEnded as exc:
            raise StepEnded(f"{where}: {exc}") from None
        except StepFailed as exc:
            raise StepFailed(f"{where}: {exc}") from None
        came = ws.client_close
        if came is not None and came[0] != self.recorded.code:
            ws.connection.note(
                f"{where}: the recording has close code {self.recorded.code}, the client sent "
                f"{came[0]} (noted, not failed)"
            )


class Replay:
    """What the server does on each connection to replay a :class:`Cassette`.

    Made by ``ws_server.replay(cassette)``; the server asks :meth:`behaviour_for` for each
    WebSocket connection no route serves. The index-th such connection (from 0) gets the
    index-th recorded connection; the connections after the last recorded one are refused.

    Args:
        cassette: the recording.
        timing: ``"immediate"`` (the default) sends the server's messages as soon as the client
            messages before them came; ``"recorded"`` also waits the recorded gaps.
        match: how client messages are compared (default: the cassette's ``match``).

    Raises:
        ConfigError: an unknown ``timing``, or ``match`` rules that are not valid.
    """

    def __init__(
        self, cassette: Cassette, *, timing: Timing = "immediate", match: MatchRules | None = None
    ) -> None:
        if not isinstance(cassette, Cassette):
            raise ConfigError(
                f"replay() takes a Cassette (load one with pytest_wsmock's cassette loader, or "
                f"build it from Cassette(...)), got {type(cassette).__name__}"
            )
        if timing not in get_args(Timing):
            raise ConfigError(
                f"replay(timing={timing!r}): timing must be 'immediate' (send at once) or "
                f"'recorded' (wait the recorded gaps)"
            )
        rules = cassette.match if match is None else match
        if not isinstance(rules, MatchRules):
            raise ConfigError(f"replay(match=...) takes MatchRules(...), got {rules!r}")
        self.cassette = cassette
        self.timing: Timing = timing
        self.match = check_rules(rules)
        self._played: set[int] = set()
        self._notes: dict[int, list[str]] = {}

    def __repr__(self) -> str:
        count = len(self.cassette.connections)
        return f"<Replay {len(self._played)} of {count} connection(s) played, {self.timing}>"

    def behaviour_for(
        self, index: int, request: Request
    ) -> tuple[Handshake, tuple[Step, ...]] | None:
        """The recorded answer and conversation for the index-th connection (from 0), or
        ``None`` when the cassette has no more connections.

        A request for another path than the recorded one (the query is not compared: it often
        holds filtered tokens) is still replayed, with a note (see :meth:`notes_for`).
        """
        connections = self.cassette.connections
        if not 0 <= index < len(connections):
            return None
        recorded = connections[index]
        self._played.add(index)
        notes = self._notes.setdefault(index, [])
        where = f"cassette connection #{index}"
        recorded_path = recorded.request.path.partition("?")[0]
        if request.path != recorded_path:
            notes.append(
                f"replay: {where} was recorded for {recorded_path!r}, this request is for "
                f"{request.path!r}; replayed all the same"
            )
        response = recorded.response
        if response.status != 101:
            return _refusal(index, response), ()
        return self._accept(index, response, request, notes), self._steps(index, recorded)

    def notes_for(self, index: int) -> list[str]:
        """What :meth:`behaviour_for` noticed about the index-th connection (a path or a
        subprotocol that differs from the recording, ...), for the connection's notes."""
        return list(self._notes.get(index, ()))

    def unplayed(self) -> list[str]:
        """The recorded connections no client requested (yet), one sentence each."""
        return [
            f"cassette connection #{index} (GET {conn.request.path}, answered "
            f"{conn.response.status}, {len(conn.messages)} message(s)) was never requested"
            for index, conn in enumerate(self.cassette.connections)
            if index not in self._played
        ]

    # -- the handshake ---------------------------------------------------------------------

    def _accept(
        self, index: int, response: CassetteResponse, request: Request, notes: list[str]
    ) -> Handshake:
        where = f"replay: cassette connection #{index}"
        subprotocol = response.subprotocol
        if subprotocol is not None and subprotocol not in request.subprotocols:
            offered = ", ".join(repr(s) for s in request.subprotocols) or "none"
            notes.append(
                f"{where} chose subprotocol {subprotocol!r}, which this client did not offer "
                f"(it offered {offered}); answered without a subprotocol"
            )
            subprotocol = None
        offered_deflate = any(offer.name == "permessage-deflate" for offer in request.extensions)
        recorded_deflate = (response.extensions or "").lower().startswith("permessage-deflate")
        extensions: str | Auto | None = None
        if recorded_deflate and offered_deflate:
            # The client's own offer is negotiated (the recorded parameters answered another
            # client's offer, and could be wrong for this one).
            extensions = AUTO
        elif response.extensions:
            why = "this client did not offer it" if recorded_deflate else "wsmock does not speak it"
            notes.append(
                f"{where} answered Sec-WebSocket-Extensions {response.extensions!r}; {why}: "
                f"answered without extensions"
            )
        elif offered_deflate:
            notes.append(
                f"{where} was recorded without permessage-deflate; the client's offer is declined"
            )
        headers = [(n, v) for n, v in response.headers if n.lower() not in _HANDSHAKE_HEADERS]
        return Handshake.accept(
            subprotocol=subprotocol,
            extensions=extensions,
            headers=headers,
            reason=response.reason or None,
        ).named("replay", f"the recorded 101 of cassette connection #{index}")

    # -- the conversation ------------------------------------------------------------------

    def _steps(self, index: int, recorded: CassetteConnection) -> tuple[Step, ...]:
        steps: list[Step] = []
        previous = 0.0
        clients = 0
        for event in recorded.events:
            gap = round(max(0.0, event.time - previous), 6)  # 0.2, not 0.20000000000000007
            previous = max(previous, event.time)
            if isinstance(event, CassetteMessage) and event.side == "client":
                steps.append(ReplayExpect(index, clients, event, self.match))
                clients += 1
                continue
            if event.side == "server":
                if self.timing == "recorded" and gap > 0:
                    steps.append(wait(gap))
                steps.append(_server_step(event))
            elif isinstance(event, CassetteClose) and event.frame:
                steps.append(ReplayClose(index, event))
            if isinstance(event, CassetteClose):
                break
        return tuple(steps)


def _server_step(event: CassetteMessage | CassetteClose) -> Step:
    """What the server does for one of its recorded events."""
    if isinstance(event, CassetteClose):
        return close(event.code, event.reason) if event.frame else Fault.drop()
    if event.kind == "text":
        data = event.data if isinstance(event.data, str) else event.data.decode()
        return send_text(data)
    return send_binary(event.data if isinstance(event.data, bytes) else event.data.encode())


def _refusal(index: int, response: CassetteResponse) -> Handshake:
    """The recorded refusal: its status, reason, headers (``Content-Length`` rewritten) and
    body."""
    headers: Sequence[tuple[str, str]] = tuple(
        (n, v) for n, v in response.headers if n.lower() not in _BODY_HEADERS
    )
    refused = Handshake.reject(response.status, body=response.body, reason=response.reason or None)
    return dataclasses.replace(refused, headers=tuple(headers)).named(
        f"replay-{response.status}",
        f"the recorded {response.status} refusal of cassette connection #{index}",
    )
