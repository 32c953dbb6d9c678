"""Render docs/handshake-clients.md from expected.py and the catalogue metadata.

``python -m tests.handshake.render`` writes the file; ``test_handshake_docs.py`` fails when the
committed file differs from what :func:`render` produces. The matrix test holds expected.py to
the real clients, so the table cannot drift from what the clients do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytest_wsmock import HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS, Handshake

from .clients import CLIENTS, Outcome, Pinned, variants
from .expected import EXPECTED, MEASURED_WITH
from .measure import ENTRIES, TIMEOUT

#: The generated page.
PATH = Path(__file__).resolve().parents[2] / "docs" / "handshake-clients.md"

#: How to regenerate it.
COMMAND = "python -m tests.handshake.render"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def failure_cell(pinned: Pinned) -> str:
    """``✓ refused with `Name``` / ``✗ ACCEPTED`` / ``⏳ hangs`` for a broken handshake."""
    return " or ".join(_failure_text(outcome) for outcome in variants(pinned))


def _failure_text(outcome: Outcome) -> str:
    if outcome.hung:
        return "⏳ hangs"
    if outcome.opened:
        return "✗ ACCEPTED"
    status = "" if outcome.status is None else f" (status {outcome.status})"
    return f"✓ refused with `{outcome.error}`{status}"


def rejection_cell(pinned: Pinned) -> str:
    """``✓ refused with `Name`, status 403`` / ``..., no status`` / ``✗ ACCEPTED``."""
    return " or ".join(_rejection_text(outcome) for outcome in variants(pinned))


def _rejection_text(outcome: Outcome) -> str:
    if outcome.hung:
        return "⏳ hangs"
    if outcome.opened:
        return "✗ ACCEPTED"
    status = "no status" if outcome.status is None else f"status {outcome.status}"
    return f"✓ refused with `{outcome.error}`, {status}"


def _any(pinned: Pinned, test: Callable[[Outcome], bool]) -> bool:
    return any(test(outcome) for outcome in variants(pinned))


def _only(pinned: Pinned) -> Outcome:
    """The one outcome pinned (the notes below speak of cells that do not vary)."""
    (outcome,) = variants(pinned)
    return outcome


def _table(entries: tuple[Handshake, ...], cell: str) -> list[str]:
    render_cell = failure_cell if cell == "failure" else rejection_cell
    clients = list(CLIENTS)
    lines = [
        "| entry id | what the server does | rule broken | " + " | ".join(clients) + " |",
        "|---|---|---|" + "---|" * len(clients),
    ]
    for entry in entries:
        cells = [
            f"`{entry.id}`",
            _cell(entry.description),
            _cell(entry.rfc),
            *(render_cell(EXPECTED[client][entry.id]) for client in clients),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _ids(entry_ids: list[str]) -> str:
    return ", ".join(f"`{entry_id}`" for entry_id in entry_ids)


def _summary() -> list[str]:
    lines = []
    total = len(HANDSHAKE_FAILURES)
    for client in CLIENTS:
        row = EXPECTED[client]
        accepted = [e.id for e in HANDSHAKE_FAILURES if _any(row[e.id], lambda o: o.opened)]
        hung = [e.id for e in ENTRIES if _any(row[e.id], lambda o: o.hung)]
        with_status = [
            e.id
            for e in HANDSHAKE_REJECTIONS
            if all(o.status == e.status for o in variants(row[e.id]))
        ]
        text = f"- **{client}** accepts {len(accepted)} of {total} broken handshakes"
        text += f": {_ids(accepted)}." if accepted else "."
        if hung:
            text += f" It ignores its own open timeout on {_ids(hung)}."
        text += (
            f" It shows the status of {len(with_status)} of {len(HANDSHAKE_REJECTIONS)} rejections."
        )
        lines.append(text)
    return lines


def _client_notes() -> list[str]:
    """Notes on cells that would surprise a reader, each shown only while it is measured."""
    notes = []
    aiohttp = EXPECTED["aiohttp"]
    if _only(aiohttp["wrong-accept"]).status == 101 and _only(aiohttp["garbage"]).status == 400:
        notes += [
            "- aiohttp reports status 101 when a header of a 101 answer was wrong, and status",
            "  400 for an answer that is not HTTP (`garbage`), although no 400 was on the wire.",
        ]
    trio_websocket = EXPECTED["trio-websocket"]
    if _only(trio_websocket["close-after-request"]).error == "ConnectionTimeout":
        notes += [
            "- trio-websocket reports a FIN or RST before any response only when its",
            "  `connect_timeout` expires (60 s by default), as `ConnectionTimeout`.",
        ]
    if _only(trio_websocket["never-respond"]).hung:
        notes += [
            "- trio-websocket's `connect_timeout` does not fire on a server that never answers",
            "  while the socket stays open: bound such tests yourself (e.g. `trio.fail_after`).",
        ]
    for client, row in EXPECTED.items():
        timing = [e.id for e in ENTRIES if len(variants(row[e.id])) > 1]
        if timing:
            notes += [
                f"- {client} raises one exception or another on {_ids(timing)} depending on "
                "timing inside the client (e.g. whether it sees the server's FIN before it has "
                "sent its request); the suite accepts either.",
            ]
    notes += [
        "- trio-websocket leaves its socket unclosed when the opening handshake fails (a",
        "  `ResourceWarning: unclosed <socket.socket ...>` when it is collected); the matrix",
        "  ignores that warning for trio-websocket only.",
    ]
    return notes


def render() -> str:
    """The whole page."""
    versions = ", ".join(f"{name} {version}" for name, version in MEASURED_WITH.items())
    offered = [e.id for e in HANDSHAKE_FAILURES if e.subprotocols_offered is True]
    lines = [
        "# Which clients refuse which broken handshakes",
        "",
        f"<!-- Generated by `{COMMAND}` from tests/handshake/expected.py; do not edit. -->",
        "",
        "Every entry of [`HANDSHAKE_FAILURES` and `HANDSHAKE_REJECTIONS`]"
        "(handshakes.md#the-catalogues) was served to each client below over a real loopback "
        "socket by the test suite (`tests/handshake/test_handshake_matrix.py`; run it with "
        "`python -m pytest -k handshake`). The suite pins what each client does, so this page "
        "shows what the clients do, not what their documentation says: when a client upgrade "
        "changes a cell, the suite fails until the pinned results and this page are regenerated.",
        "",
        f"Measured with {versions}. Each client was given an open timeout of {TIMEOUT:g} s. "
        f"For {_ids(offered)} it offered the subprotocol `chat`; for the other entries, none.",
        "",
        "- ✓ refused with `Name`: the client refused to open the connection and raised `Name`",
        "  (qualified by its package when it is not the client's own, e.g. `httpx.ReadTimeout`;",
        "  for wsproto, `RejectConnection` is the event it returned), with the HTTP status when",
        "  the client reports one.",
        "- ✗ ACCEPTED: the client opened a WebSocket connection on an answer it must refuse.",
        "- ⏳ hangs: the client ignored its own open timeout; the test's outer bound stopped it.",
        "",
        "## Summary",
        "",
        *_summary(),
        "",
        "## Broken handshakes (`HANDSHAKE_FAILURES`)",
        "",
        "A compliant client must refuse to open a connection on each of these answers.",
        "",
        *_table(HANDSHAKE_FAILURES, "failure"),
        "",
        "## Rejections (`HANDSHAKE_REJECTIONS`)",
        "",
        "A client must report each of these as a failed connection, with the status visible.",
        "",
        *_table(HANDSHAKE_REJECTIONS, "rejection"),
        "",
        "## Notes",
        "",
        "- `missing-subprotocol` (the client offered `chat`, the server answered with no",
        "  `Sec-WebSocket-Protocol`) breaks a WHATWG rule, not an RFC 6455 one: RFC 6455",
        "  section 4.1 leaves it to the client, while the WHATWG WebSockets standard that",
        "  browsers (and Node's `ws`) follow requires the client to fail the connection. A client",
        "  that accepts it follows RFC 6455; one that refuses it follows WHATWG.",
        *_client_notes(),
        "- Always pass your client's open timeout in tests (see [Handshakes](handshakes.md)).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Write docs/handshake-clients.md."""
    PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
