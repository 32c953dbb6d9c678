"""The catalogues the kit runs, and one :class:`Case` per entry: its id, what the server
does, and the rule a client is held to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .._faults import TRANSPORT_FAULTS, Fault
from .._frame_violations import FRAME_VIOLATIONS, FrameViolation
from .._handshake_catalogue import HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS
from .._handshakes import Handshake
from .._options import TLS_FAULTS
from .._tls import TlsFault

#: A catalogue entry the kit knows how to run.
Entry = Handshake | FrameViolation | Fault | TlsFault

#: Every catalogue, in report order: ``catalogues=ALL`` (the default) runs them all.
ALL: tuple[tuple[Entry, ...], ...] = (
    HANDSHAKE_FAILURES,
    HANDSHAKE_REJECTIONS,
    FRAME_VIOLATIONS,
    TRANSPORT_FAULTS,
    TLS_FAULTS,
)

#: The catalogues' names (the first part of a case id), in report order.
CATALOGUE_NAMES = (
    "handshake-failure",
    "handshake-rejection",
    "frame-violation",
    "transport-fault",
    "tls-fault",
)

_SINGLE = (Handshake, FrameViolation, Fault, TlsFault)

_REJECTION_IDS = frozenset(entry.id for entry in HANDSHAKE_REJECTIONS)

_ENDS_WITHOUT_CLOSE = (
    "RFC 6455 section 7.1.5: a connection that ends without a close frame has the close "
    "code 1006; the client must report that it ended"
)
_SLOW_IS_LEGAL = (
    "RFC 6455 sections 5.2 and 5.4: a frame may arrive in any number of TCP segments, at any "
    "pace; the client must deliver every message intact"
)

#: The rule each transport fault holds a client to (faults carry no rule text of their own).
FAULT_RULES: dict[str, str] = {
    "drop": _ENDS_WITHOUT_CLOSE,
    "reset": _ENDS_WITHOUT_CLOSE,
    "half-close": _ENDS_WITHOUT_CLOSE,
    "close-then-drop": (
        "RFC 6455 sections 7.1.5 and 7.1.6: the close frame's code and reason are the "
        "connection's, even when TCP closes right after it"
    ),
    "close-frame-only": (
        "RFC 6455 section 7.1.1: after the closing handshake the client may close TCP itself "
        "if the server does not within a reasonable time"
    ),
    "no-close-reply": (
        "RFC 6455 section 7.1.1: a client whose close frame gets no answer may close TCP "
        "itself after a reasonable time"
    ),
    "stall": _SLOW_IS_LEGAL,
    "stop-reading": _SLOW_IS_LEGAL,
    "delay-writes": _SLOW_IS_LEGAL,
    "throttle": _SLOW_IS_LEGAL,
    "split-frames": _SLOW_IS_LEGAL,
}

_TRUST = (
    "RFC 6455 section 4.1, RFC 5280 section 6: a wss:// client must validate the server's "
    "certificate"
)

#: The rule and the server's behaviour of each TLS fault.
TLS_RULES: dict[TlsFault, tuple[str, str]] = {
    TlsFault.UNTRUSTED: (
        "presents a certificate from a CA the client was not told to trust",
        _TRUST + " chain up to a trusted CA",
    ),
    TlsFault.WRONG_HOST: (
        "presents a certificate for another host name (wrong-host.invalid)",
        "RFC 6125 section 6: the certificate must name the host the client dialled",
    ),
    TlsFault.EXPIRED: (
        "presents a certificate that expired yesterday",
        "RFC 5280 section 4.1.2.5: the certificate must be within its validity period",
    ),
    TlsFault.NOT_YET_VALID: (
        "presents a certificate that is valid from tomorrow",
        "RFC 5280 section 4.1.2.5: the certificate must be within its validity period",
    ),
    TlsFault.CLOSE_DURING_HANDSHAKE: (
        "reads the ClientHello, then closes TCP",
        "RFC 6455 section 4.1: if the TLS handshake fails, the client must fail the connection",
    ),
}


@dataclass(frozen=True)
class Case:
    """One catalogue entry, as the kit runs and reports it.

    Attributes:
        catalogue: ``"handshake-failure"``, ``"handshake-rejection"``, ``"frame-violation"``,
            ``"transport-fault"`` or ``"tls-fault"``.
        entry: the catalogue entry.
        description: what the server does.
        rule: the RFC 6455 (or WHATWG, TLS) rule the entry tests.
    """

    catalogue: str
    entry: Entry
    description: str
    rule: str

    @property
    def entry_id(self) -> str:
        """The entry's own id: ``wrong-accept``."""
        return str(self.entry) if isinstance(self.entry, TlsFault) else self.entry.id

    @property
    def id(self) -> str:
        """``handshake-failure/wrong-accept``: the pytest id and the pin's key."""
        return f"{self.catalogue}/{self.entry_id}"


def case_of(entry: Entry) -> Case:
    """The :class:`Case` of one catalogue entry (a ``TypeError`` for anything else)."""
    if isinstance(entry, Handshake):
        name = "handshake-rejection" if entry.id in _REJECTION_IDS else "handshake-failure"
        return Case(name, entry, entry.description, entry.rfc)
    if isinstance(entry, FrameViolation):
        return Case("frame-violation", entry, entry.description, entry.rfc)
    if isinstance(entry, Fault):
        rule = FAULT_RULES.get(entry.kind, "")
        return Case("transport-fault", entry, entry.description, rule)
    if isinstance(entry, TlsFault):
        description, rule = TLS_RULES[entry]
        return Case("tls-fault", entry, description, rule)
    raise TypeError(
        f"not a catalogue entry: {entry!r} (give entries of HANDSHAKE_FAILURES, "
        f"HANDSHAKE_REJECTIONS, FRAME_VIOLATIONS, TRANSPORT_FAULTS or TLS_FAULTS)"
    )


def cases_of(catalogues: Iterable[Sequence[Entry] | Entry]) -> list[Case]:
    """The cases of these catalogues (each a sequence of entries, or one entry), in order;
    an entry given twice runs once."""
    cases: list[Case] = []
    seen: set[str] = set()
    for catalogue in catalogues:
        # A TlsFault is a str, hence a sequence: single entries are told apart by type.
        entries = [catalogue] if isinstance(catalogue, _SINGLE) else catalogue
        for entry in entries:
            case = case_of(entry)
            if case.id not in seen:
                seen.add(case.id)
                cases.append(case)
    return cases
