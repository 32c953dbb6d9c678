"""What a client did about one frame violation, as pinned in expected.py, and how it is judged.

A :class:`Reaction` combines both sides of one run: from the client, the messages it delivered
after ``"before"`` and what ended its receive loop (:class:`~.clients.Observed`); from the
server's record, how the connection ended (``conn.close``): the client's close code, or that
the client closed TCP without a close frame ("dropped"), or that it did neither until the
server closed TCP after ``violation_grace`` ("kept open").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from pytest_wsmock import CloseInfo, Direction, FrameViolation, Opcode

from .clients import Observed

#: The message the server sends before the violation, and the one it tries to send after it.
BEFORE = "before"
AFTER = "after"

#: How long a shown payload may be before it is cut.
PREVIEW = 24

DROPPED = "dropped"
KEPT_OPEN = "kept open"


@dataclass(frozen=True)
class Reaction:
    """What a client did about one violation.

    Attributes:
        ending: ``"closed 1002"`` (the client sent a close frame with this code; ``"closed"``
            when it had no code), ``"dropped"`` (it closed TCP without a close frame) or
            ``"kept open"`` (it did neither within ``violation_grace``; the server closed TCP).
        reported: what ended the client's receive loop (see ``Observed.ended``).
        delivered: the messages the client delivered after ``"before"``: the violating payload
            when it took the frames as data, ``"after"`` when it kept going.
        hung: the client ignored its own receive timeout (the outer bound stopped it).
    """

    ending: str
    reported: str | None
    delivered: tuple[str | bytes, ...] = ()
    hung: bool = False

    @property
    def code(self) -> int | None:
        """The close code the client sent, if it sent one with a code."""
        kind, _, code = self.ending.partition(" ")
        return int(code) if kind == "closed" and code else None

    def __str__(self) -> str:
        text = self.ending
        if self.delivered:
            text = f"delivered {shown(self.delivered)}, {text}"
        if self.reported is not None:
            text += f", reported {self.reported}"
        if self.hung:
            text += ", hung (ignored its own timeout)"
        return text


#: What expected.py pins for one client and entry: one reaction, or those a client picks from
#: by timing alone.
Pinned: TypeAlias = "Reaction | frozenset[Reaction]"


def closed(code: int | None, reported: str | None, *delivered: str | bytes) -> Reaction:
    """The client sent a close frame with ``code`` (``None``: an empty close frame)."""
    return Reaction("closed" if code is None else f"closed {code}", reported, delivered)


def dropped(reported: str | None, *delivered: str | bytes) -> Reaction:
    """The client closed TCP without sending a close frame."""
    return Reaction(DROPPED, reported, delivered)


def kept_open(reported: str | None, *delivered: str | bytes) -> Reaction:
    """The client neither sent a close frame nor closed TCP until the server closed TCP."""
    return Reaction(KEPT_OPEN, reported, delivered)


def either(*reactions: Reaction) -> frozenset[Reaction]:
    """Any one of these reactions, depending on timing inside the client."""
    return frozenset(reactions)


def variants(pinned: Pinned) -> list[Reaction]:
    """The reactions ``pinned`` allows, in a stable order."""
    if isinstance(pinned, Reaction):
        return [pinned]
    return sorted(pinned, key=str)


def describe(pinned: Pinned) -> str:
    """``closed 1002, reported ConnectionClosedError or dropped, reported ...``."""
    return " or ".join(str(reaction) for reaction in variants(pinned))


def shown(values: tuple[str | bytes, ...]) -> str:
    """``'after'`` / ``'caf\\ufffd('``: each value's repr, cut at :data:`PREVIEW` characters."""
    parts = []
    for value in values:
        text = repr(value)
        parts.append(text if len(text) <= PREVIEW else text[: PREVIEW - 3] + "...")
    return ", ".join(parts)


def ending_of(close: CloseInfo) -> str:
    """The ``ending`` of a :class:`Reaction`, from the server's record of the connection."""
    if close.client_sent:
        return "closed" if close.client_code is None else f"closed {close.client_code}"
    if close.tcp_closed_by is Direction.CLIENT:
        return DROPPED
    return KEPT_OPEN


def reaction_of(observed: Observed, close: CloseInfo) -> Reaction:
    """Both sides of one run as a :class:`Reaction` (a leading ``"before"`` is dropped)."""
    delivered = observed.delivered
    if delivered[:1] == (BEFORE,):
        delivered = delivered[1:]
    return Reaction(ending_of(close), observed.ended, delivered, observed.hung)


def ends_with_close(entry: FrameViolation) -> bool:
    """Whether the violation is a close frame (the server then sends nothing after it)."""
    return entry.frames[-1].opcode == Opcode.CLOSE


Verdict = Literal["compliant", "partly", "accepted"]

#: What the clients report when, as far as they know, the server closed normally.
NORMAL_ENDS = frozenset(
    {"WSMsgType.CLOSE", "WSMsgType.CLOSED", "close frame", "ConnectionClosedOK"}
)


def verdict(reaction: Reaction, entry: FrameViolation) -> Verdict:
    """How a reaction measures up to RFC 6455 section 7.1.7 ("fail the WebSocket connection").

    - ``compliant``: the client delivered nothing after ``"before"`` and sent a close frame
      with the entry's ``close_code``.
    - ``partly``: it delivered nothing, but did not fail the connection as the RFC says: it
      closed TCP without a close frame (section 7.1.7 allows that), sent another close code,
      or left TCP open until the server closed it.
    - ``accepted``: it delivered the violating payload or ``"after"``, or took a broken close
      frame for a normal one (it reported a normal close, or the very code it received, and
      answered with 1000, no code or that code).
    """
    if reaction.delivered or reaction.hung:
        return "accepted"
    if reaction.code == entry.close_code:
        return "compliant"
    if reaction.ending in (DROPPED, KEPT_OPEN) or not ends_with_close(entry):
        return "partly"
    received = received_code(entry)
    normal = reaction.reported in NORMAL_ENDS or (
        reaction.reported is not None and reaction.reported.endswith(f"({received})")
    )
    if normal and reaction.code in (None, 1000, received):
        return "accepted"
    return "partly"


def received_code(entry: FrameViolation) -> int | None:
    """The close code in the entry's close frame (``None`` when it has none)."""
    payload = entry.frames[-1].payload
    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
