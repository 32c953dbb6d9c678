"""The docs pages of the client tables, generated from the project's pins
(tests/clients/conformance.json, written by the conformance kit with ``--wsmock-pin``).

Run ``python -m tests.clients.render`` to rewrite the pages; ``tests/clients/test_tables.py``
fails when a page and the pins differ.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pytest_wsmock import FRAME_VIOLATIONS
from pytest_wsmock.conformance import report_from_pins

from .notes import MEASURED_WITH, NOTES, Page

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PINS = HERE / "conformance.json"
COMMAND = "python -m tests.clients.render"

#: The columns, in order: the Python clients, then those outside Python.
CLIENTS = (
    "websockets-asyncio",
    "websockets-sync",
    "aiohttp",
    "websocket-client",
    "wsproto",
    "httpx-ws",
    "trio-websocket",
    "node-ws",
    "gorilla",
    "chromium",
)
BROWSERS = frozenset({"chromium"})

#: The close code a compliant client sends on each frame violation (RFC 6455 section 7.1.7).
EXPECTED_CODE = {entry.id: entry.close_code for entry in FRAME_VIOLATIONS}

#: The pages: file, title, catalogues (name, heading, what a compliant client does).
PAGES: tuple[Page, ...] = (
    Page(
        "handshake-clients.md",
        "Which clients refuse which broken handshakes",
        (
            (
                "handshake-failure",
                "Broken handshakes (`HANDSHAKE_FAILURES`)",
                "A compliant client must refuse to open a connection on each of these answers.",
            ),
            (
                "handshake-rejection",
                "Rejections (`HANDSHAKE_REJECTIONS`)",
                "A client must report each of these as a failed connection, with the status "
                "visible.",
            ),
        ),
    ),
    Page(
        "frame-violation-clients.md",
        "Which clients catch which frame violations",
        (
            (
                "frame-violation",
                "Frame violations (`FRAME_VIOLATIONS`)",
                "A compliant client delivers nothing after `'before'` and fails the connection "
                "with the close code in the `code` column (RFC 6455 section 7.1.7).",
            ),
        ),
    ),
    Page(
        "fault-clients.md",
        "How clients react to transport and TLS faults",
        (
            (
                "transport-fault",
                "Transport faults (`TRANSPORT_FAULTS`)",
                "After a fault that ends the connection a client should report the end; the "
                "faults that only slow the server down must change nothing the client "
                "delivers (*accepted* is right there).",
            ),
            (
                "tls-fault",
                "TLS faults (`TLS_FAULTS`)",
                "A compliant client refuses each of these certificates or handshakes.",
            ),
        ),
    ),
)


def _code(text: str) -> str:
    return f"`{text}`"


def _error(summary: str) -> str:
    """``caught InvalidStatus (status 404), sent close 1002`` -> ``InvalidStatus (status 404)``."""
    head = summary.split(", sent ")[0]
    return head.split(" ", 1)[1] if " " in head else ""


def _wire(summary: str) -> str:
    """What the record says the client sent: ``sent close 1002``, ``sent no close``, or ''."""
    _, _, tail = summary.partition(", ")
    return tail


def _one(catalogue: str, entry_id: str, client: str, summary: str) -> str:
    kind = summary.split(" ")[0].rstrip(",")
    error, wire = _error(summary), _wire(summary)
    if client in BROWSERS and error in ("error event", "close event"):
        page = "`error`, then `close` 1006" if error == "error event" else "`close` (no `error`)"
        error_text = f"page script: {page}"
        wire = f"wire: {wire}" if wire else ""
    elif client in BROWSERS and wire:
        wire = f"wire: {wire}"
        error_text = _code(error) if error else ""
    else:
        error_text = _code(error) if error else ""
    if kind == "hung":
        return "⏳ hung" + (f"; {wire}" if wire else "")
    if catalogue.startswith("handshake") or catalogue == "tls-fault":
        if kind != "caught":
            return "✗ ACCEPTED"
        # The wire after a refused handshake: always in a browser's column (beside what page
        # script saw); elsewhere only when the client sent a frame on a connection never opened.
        shown = wire if client in BROWSERS or "sent close" in wire else ""
        return f"✓ refused: {error_text}" + (f", {shown}" if shown else "")
    if catalogue == "frame-violation":
        expected = f"sent close {EXPECTED_CODE.get(entry_id)}"
        if kind == "accepted":
            mark = "✗ accepted"
        else:
            mark = "✓ caught" if wire == expected else "~ caught"
        parts = [mark, error_text, wire] if client in BROWSERS else [mark, wire, error_text]
        return ", ".join(part for part in parts if part)
    parts = [kind, error_text, wire]
    return ", ".join(part for part in parts if part)


def cell(catalogue: str, entry_id: str, client: str, summary: str) -> str:
    """One table cell from a pinned summary (a set's summaries joined by ``or``)."""
    cells = [_one(catalogue, entry_id, client, one) for one in summary.split(" or ")]
    return " or ".join(cells).replace(", wire:", "; wire:")


def _summary_line(name: str, rows: list[dict[str, Any]], client: str, page: Page) -> str:
    counts = {"caught": 0, "accepted": 0, "hung": 0, "varies": 0}
    accepted, hung = [], []
    for entry in rows:
        verdict = entry["verdicts"].get(client)
        if verdict is None:
            continue
        counts[verdict["kind"]] = counts.get(verdict["kind"], 0) + 1
        if verdict["kind"] == "accepted":
            accepted.append(_code(entry["id"]))
        elif verdict["kind"] == "hung":
            hung.append(_code(entry["id"]))
    total = sum(counts.values())
    if total == 0:
        return ""
    text = f"{counts['caught']} caught, {counts['accepted']} accepted, {counts['hung']} hung"
    if counts["varies"]:
        text += f", {counts['varies']} varying"
    text += f" of {total}"
    if accepted and name != "transport-fault" and len(accepted) <= 16:
        text += f"; accepted: {', '.join(accepted)}"
    if hung:
        text += f"; hung: {', '.join(hung)}"
    return text


def render(page: Page, data: dict[str, Any]) -> str:
    """The Markdown of one page from the pins' report data."""
    catalogues = {catalogue["name"]: catalogue["entries"] for catalogue in data["catalogues"]}
    clients = [client for client in CLIENTS if client in data["clients"]]
    lines = [f"# {page.title}", ""]
    lines.append(
        f"<!-- Generated by `{COMMAND}` from tests/clients/conformance.json; do not edit. -->"
    )
    lines += ["", NOTES[page.file]["intro"], ""]
    lines += [f"Measured with {MEASURED_WITH}.", ""]
    lines += [NOTES[page.file]["legend"], "", "## Summary", ""]
    for name, heading, _ in page.catalogues:
        rows = catalogues.get(name, [])
        lines.append(f"{heading}:")
        lines.append("")
        for client in clients:
            text = _summary_line(name, rows, client, page)
            if text:
                lines.append(f"- **{client}**: {text}.")
        lines.append("")
    for name, heading, rule in page.catalogues:
        rows = catalogues.get(name, [])
        lines += [f"## {heading}", "", rule, ""]
        code = name == "frame-violation"
        head = ["entry id", "what the server does", "rule broken"] + (["code"] if code else [])
        lines.append("| " + " | ".join(head + clients) + " |")
        lines.append("|---" * (len(head) + len(clients)) + "|")
        for entry in rows:
            cells = [_code(entry["id"]), entry["description"], entry["rule"]]
            if code:
                cells.append(str(EXPECTED_CODE.get(entry["id"], "")))
            for client in clients:
                verdict = entry["verdicts"].get(client)
                cells.append(
                    "" if verdict is None else cell(name, entry["id"], client, verdict["summary"])
                )
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    lines += ["## Notes", "", NOTES[page.file]["notes"]]
    return "\n".join(lines).rstrip("\n") + "\n"


def pages() -> dict[Path, str]:
    """Every page's path and its text, from the pins."""
    data = report_from_pins(PINS)
    return {ROOT / "docs" / page.file: render(page, data) for page in PAGES}


def main() -> int:
    for path, text in pages().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
