"""Render docs/frame-violation-clients.md from expected.py and the catalogue metadata.

``python -m tests.violations.render`` writes the file; ``test_frame_violation_docs.py`` fails
when the committed file differs from what :func:`render` produces. The matrix test holds
expected.py to the real clients, so the table cannot drift from what the clients do.
"""

from __future__ import annotations

from pathlib import Path

from pytest_wsmock import FRAME_VIOLATIONS, FrameViolation

from .clients import CLIENTS
from .expected import EXPECTED, MEASURED_WITH
from .measure import OPTIONS, TIMEOUT
from .reactions import KEPT_OPEN, Pinned, Reaction, shown, variants, verdict

#: The generated page.
PATH = Path(__file__).resolve().parents[2] / "docs" / "frame-violation-clients.md"

#: How to regenerate it.
COMMAND = "python -m tests.violations.render"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def cell(pinned: Pinned, entry: FrameViolation) -> str:
    """``✓ closed 1002, `Name``` / ``~ dropped, `Name``` / ``✗ ignored (delivered 'x') ...``."""
    return " or ".join(_text(reaction, entry) for reaction in variants(pinned))


def _text(reaction: Reaction, entry: FrameViolation) -> str:
    judged = verdict(reaction, entry)
    if reaction.delivered:
        text = f"✗ ignored (delivered {_cell(shown(reaction.delivered))}), {reaction.ending}"
    elif judged == "accepted":
        text = f"✗ {reaction.ending} (a normal close)"
    else:
        text = f"{_MARK[judged]} {reaction.ending}"
    if reaction.hung:
        text += ", hung"
    if reaction.reported is not None:
        text += f", `{reaction.reported}`"
    return text


_MARK = {"compliant": "✓", "partly": "~", "accepted": "✗"}


def _ids(entry_ids: list[str]) -> str:
    return ", ".join(f"`{entry_id}`" for entry_id in entry_ids)


def _judged(client: str, entry: FrameViolation) -> set[str]:
    return {verdict(reaction, entry) for reaction in variants(EXPECTED[client][entry.id])}


def _summary() -> list[str]:
    lines = []
    total = len(FRAME_VIOLATIONS)
    for client in CLIENTS:
        compliant = [e.id for e in FRAME_VIOLATIONS if _judged(client, e) == {"compliant"}]
        accepted = [e.id for e in FRAME_VIOLATIONS if "accepted" in _judged(client, e)]
        partly = [
            e.id
            for e in FRAME_VIOLATIONS
            if e.id not in compliant and e.id not in accepted  # "partly", or a mix of verdicts
        ]
        text = (
            f"- **{client}** fails the connection with the right close code on "
            f"{len(compliant)} of {total} violations"
        )
        if partly:
            text += (
                f"; on {len(partly)} it delivers nothing but sends another code, no close "
                f"frame, or leaves TCP open (~)"
            )
            if len(partly) <= 8:
                text += f": {_ids(partly)}"
        text += f". It accepts {len(accepted)}"
        text += f": {_ids(accepted)}." if accepted else "."
        lines.append(text)
    return lines


def _table() -> list[str]:
    clients = list(CLIENTS)
    lines = [
        "| entry id | what the server writes | rule broken | close code | "
        + " | ".join(clients)
        + " |",
        "|---|---|---|---|" + "---|" * len(clients),
    ]
    for entry in FRAME_VIOLATIONS:
        cells = [
            f"`{entry.id}`",
            _cell(entry.description),
            _cell(entry.rfc),
            str(entry.close_code),
            *(cell(EXPECTED[client][entry.id], entry) for client in clients),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _only(client: str, entry_id: str) -> Reaction | None:
    """The one reaction pinned for this cell, or ``None`` when it varies."""
    reactions = variants(EXPECTED[client][entry_id])
    return reactions[0] if len(reactions) == 1 else None


def _client_notes() -> list[str]:
    """Notes on cells that would surprise a reader, each shown only while it is measured."""
    notes = []
    reaction = _only("websocket-client", "rsv2")
    if reaction is not None and reaction.code == 1000 and reaction.reported:
        notes += [
            f"- websocket-client raises (`{reaction.reported}` and the like) but sends no close",
            "  frame itself; the `ws.close()` an application then calls sends 1000 unless it",
            "  passes `status=1002` (or 1007 for bad UTF-8).",
        ]
    reaction = _only("httpx-ws", "rsv2")
    if reaction is not None and reaction.code == 1000 and reaction.reported:
        notes += [
            f"- httpx-ws reports the right code to the application (`{reaction.reported}`),",
            "  but leaving `connect_ws(...)` then sends close 1000.",
        ]
    reaction = _only("trio-websocket", "rsv2")
    if reaction is not None and reaction.ending == KEPT_OPEN:
        notes += [
            "- trio-websocket reports the right code to the application at once",
            f"  (`{reaction.reported}`), but sends no close frame and does not close its socket:",
            "  TCP stays open until the socket object is freed (at once, or only when the garbage",
            "  collector runs, with a `ResourceWarning: unclosed <socket.socket ...>`) or the",
            "  server closes it after `violation_grace`. The matrix holds the connection object",
            "  until the server has closed, then closes the socket itself.",
        ]
    reaction = _only("websocket-client", "length-high-bit")
    if reaction is not None and reaction.ending == KEPT_OPEN and not reaction.delivered:
        notes += [
            "- websocket-client waits for the payload that a 64-bit length with the high bit set",
            "  announces, until the server closes TCP (after `violation_grace`); it reports the",
            "  connection as closed only then.",
        ]
    takers = [c for c in CLIENTS if "accepted" in _judged(c, FRAME_VIOLATIONS[-1])]
    if takers:
        notes += [
            f"- `{FRAME_VIOLATIONS[-1].id}` is accepted by {_ids(takers)}: they",
            "  deliver the payload of a frame whose length was not minimally encoded.",
        ]
    return notes


def render() -> str:
    """The whole page."""
    versions = ", ".join(f"{name} {version}" for name, version in MEASURED_WITH.items())
    lines = [
        "# Which clients catch which frame violations",
        "",
        f"<!-- Generated by `{COMMAND}` from tests/violations/expected.py; do not edit. -->",
        "",
        "Every entry of [`FRAME_VIOLATIONS`](catalogues.md#frame_violations) was served to each "
        "client below over a real loopback socket by the test suite "
        "(`tests/violations/test_frame_violation_matrix.py`; run it with "
        "`python -m pytest tests/violations`). The suite pins what each client does, so this "
        "page shows what the clients do, not what their documentation says: when a client "
        "upgrade changes a cell, the suite fails until the pinned results and this page are "
        "regenerated.",
        "",
        f"Measured with {versions}. The server (`deflate=False`, "
        f"`violation_grace={OPTIONS['violation_grace']}`) sent the text message `'before'`, "
        "the entry's frames, then (unless the entry is a close frame) `'after'`; the client, "
        "used as its documentation shows (a context manager where it has one), received "
        f"until it reported the end of the connection, each call with a {TIMEOUT:g} s timeout. "
        "The close code in each cell is the one the server received (`conn.close.client_code`).",
        "",
        "- ✓ closed 1002: the client delivered nothing after `'before'` and failed the",
        "  connection with the close code the entry names (RFC 6455 section 7.1.7).",
        "- ~ dropped / ~ closed 1000 / ~ kept open: it delivered nothing, but did not fail the",
        "  connection as the RFC says: it closed TCP without a close frame (section 7.1.7",
        "  allows that), sent another close code, or left TCP open until the server closed it",
        "  after `violation_grace`.",
        "- ✗ ignored (delivered 'x'): it handed the violating payload (or `'after'`) to the",
        "  application; ✗ closed 1000 (a normal close): it took a broken close frame for a",
        "  normal one.",
        "- `Name`: what the client reported to the application when the connection ended: the",
        "  exception it raised, aiohttp's message type (`WSMsgType.CLOSE`), websocket-client's",
        "  `close frame` (`recv()` returned `''`), and for wsproto (`CloseConnection`), httpx-ws",
        "  (`WebSocketDisconnect`) and trio-websocket (`ConnectionClosed`) the close code they",
        "  report, in parentheses.",
        "",
        "## Summary",
        "",
        *_summary(),
        "",
        "## The table",
        "",
        *_table(),
        "",
        "## Notes",
        "",
        *_client_notes(),
        "- In your own tests, assert the close code your client sent with",
        "  `conn.close.client_code` (see [Catalogues](catalogues.md#frame_violations)).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Write docs/frame-violation-clients.md."""
    PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
