"""The conformance report: rows = catalogue entries with their rule, columns = clients,
cells = verdicts, and how many entries each client caught, accepted and hung on. Written as
Markdown (for people) and JSON (for tools) by ``--wsmock-conformance-report=PATH``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._catalogues import ALL, CATALOGUE_NAMES, cases_of
from ._pins import Pins, allowed, read_pins
from ._verdict import Verdict

KINDS = ("caught", "accepted", "hung")

_ORDER = {case.id: number for number, case in enumerate(cases_of(ALL))}

INTRO = (
    "Each cell is what the client did on the entry: **caught** (it reported the failure: "
    "the error it raised, or the close code it failed the connection with), **accepted** (it "
    "went on: opened the connection, delivered the data, or noticed nothing within its "
    "timeout) or **hung** (it did not finish within its own timeout plus the kit's margin; "
    "the server ended the connection). For frame violations, transport faults and refused "
    "broken handshakes the cell "
    "also says whether the client sent a close frame, and its code, from the server's record."
)


@dataclass(frozen=True)
class Row:
    """One verdict of one run, as the report and the pins need it."""

    client: str
    catalogue: str
    entry_id: str
    description: str
    rule: str
    verdict: Verdict
    pins: str | None = None

    @property
    def case_id(self) -> str:
        """``handshake-failure/wrong-accept``."""
        return f"{self.catalogue}/{self.entry_id}"

    def to_json(self) -> dict[str, Any]:
        """The row as JSON (what an xdist worker hands to the controller)."""
        data = {name: getattr(self, name) for name in ("client", "catalogue", "entry_id")}
        data.update(description=self.description, rule=self.rule, pins=self.pins)
        data["verdict"] = self.verdict.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        """The inverse of :meth:`to_json`."""
        return cls(
            data["client"],
            data["catalogue"],
            data["entry_id"],
            data["description"],
            data["rule"],
            Verdict.from_json(data["verdict"]),
            data.get("pins"),
        )


def _sort_key(row: Row) -> tuple[int, int, str]:
    catalogue = CATALOGUE_NAMES.index(row.catalogue) if row.catalogue in CATALOGUE_NAMES else 99
    return (catalogue, _ORDER.get(row.case_id, len(_ORDER)), row.entry_id)


def build(rows: Iterable[Row]) -> dict[str, Any]:
    """The report's data: ``clients`` (sorted by name), ``counts`` per client,
    and ``catalogues``, each with its ``entries`` and their ``verdicts`` per client."""
    rows = sorted(rows, key=_sort_key)
    clients: list[str] = []
    for row in sorted(rows, key=lambda r: r.client):
        if row.client not in clients:
            clients.append(row.client)
    counts = {client: dict.fromkeys(KINDS, 0) for client in clients}
    catalogues: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        entries = catalogues.setdefault(row.catalogue, {})
        entry = entries.setdefault(
            row.entry_id,
            {"id": row.entry_id, "description": row.description, "rule": row.rule, "verdicts": {}},
        )
        verdicts = entry["verdicts"]
        seen = verdicts.get(row.client)
        if seen is None:
            counts[row.client][row.verdict.kind] += 1
            verdicts[row.client] = row.verdict.to_json()
        elif row.verdict.summary not in seen["summary"].split(" or "):
            # The same case ran again (--wsmock-repeat) and ended otherwise: show both.
            summaries = sorted([*seen["summary"].split(" or "), row.verdict.summary])
            if seen["kind"] != row.verdict.kind and seen["kind"] != "varies":
                counts[row.client][seen["kind"]] -= 1
                counts[row.client]["varies"] = counts[row.client].get("varies", 0) + 1
                seen["kind"] = "varies"
            seen["summary"] = " or ".join(summaries)
    return {
        "clients": clients,
        "counts": counts,
        "catalogues": [
            {"name": name, "entries": list(entries.values())}
            for name, entries in catalogues.items()
        ],
    }


_CASES = {case.id: case for case in cases_of(ALL)}


def report_from_pins(pins: Pins | str | os.PathLike[str]) -> dict[str, Any]:
    """The report's data made from pins instead of a run: ``pins`` is a pin file's path or
    its contents. The shape is the JSON report's (``clients``, ``counts``, ``catalogues``),
    without the messages a run would add; :func:`report_markdown` and :func:`write_report`
    take it, and so can your own page generator (the project's client tables are made
    this way, and a test holds them to the pins).

    A set's cell lists its summaries joined by "or", and counts under the kind they share,
    or ``varies``. Case ids no catalogue has any more keep their catalogue, without
    description or rule.

    Raises:
        FileNotFoundError: there is no pin file at the path (the message says how to write one).
        PinFileError: the file is not a pin file."""
    if not isinstance(pins, dict):
        pins = read_pins(pins)
    clients = sorted(pins)
    counts: dict[str, dict[str, int]] = {client: dict.fromkeys(KINDS, 0) for client in clients}
    catalogues: dict[str, dict[str, dict[str, Any]]] = {}
    ids = sorted({case_id for row in pins.values() for case_id in row}, key=_id_key)
    for case_id in ids:
        case = _CASES.get(case_id)
        catalogue, _, entry_id = case_id.partition("/")
        entry = catalogues.setdefault(catalogue, {}).setdefault(
            entry_id,
            {
                "id": entry_id,
                "description": case.description if case else "",
                "rule": case.rule if case else "",
                "verdicts": {},
            },
        )
        for client in clients:
            pin = pins[client].get(case_id)
            if pin is None:
                continue
            summaries = allowed(pin)
            kinds = {summary.split(" ")[0].rstrip(",") for summary in summaries}
            kind = kinds.pop() if len(kinds) == 1 else "varies"
            counts[client][kind] = counts[client].get(kind, 0) + 1
            entry["verdicts"][client] = {"kind": kind, "summary": " or ".join(summaries)}
    return {
        "clients": clients,
        "counts": counts,
        "catalogues": [
            {"name": name, "entries": list(entries.values())}
            for name, entries in catalogues.items()
        ],
    }


def _id_key(case_id: str) -> tuple[int, int, str]:
    catalogue = case_id.partition("/")[0]
    rank = CATALOGUE_NAMES.index(catalogue) if catalogue in CATALOGUE_NAMES else 99
    return (rank, _ORDER.get(case_id, len(_ORDER)), case_id)


def _kinds(data: dict[str, Any]) -> tuple[str, ...]:
    """The kinds the counts show: ``varies`` too when a pinned set mixes kinds."""
    varies = any(count.get("varies") for count in data["counts"].values())
    return (*KINDS, "varies") if varies else KINDS


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(data: dict[str, Any]) -> str:
    """The report as a Markdown page: a count table, then one table per catalogue."""
    clients: list[str] = data["clients"]
    kinds = _kinds(data)
    lines = ["# WebSocket client conformance", "", INTRO, ""]
    lines += ["| client | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for client in clients:
        count = data["counts"][client]
        lines.append(
            f"| {_cell(client)} | " + " | ".join(str(count.get(k, 0)) for k in kinds) + " |"
        )
    for catalogue in data["catalogues"]:
        lines += ["", f"## {catalogue['name']}", ""]
        lines.append(
            "| entry | what the server does | rule | " + " | ".join(map(_cell, clients)) + " |"
        )
        lines.append("|---|---|---|" + "---|" * len(clients))
        tally = {client: dict.fromkeys(kinds, 0) for client in clients}
        for entry in catalogue["entries"]:
            cells = [f"`{entry['id']}`", _cell(entry["description"]), _cell(entry["rule"])]
            for client in clients:
                verdict = entry["verdicts"].get(client)
                if verdict is None:
                    cells.append("")
                    continue
                kind = verdict["kind"]
                tally[client][kind] = tally[client].get(kind, 0) + 1
                cells.append(_cell(verdict["summary"]))
            lines.append("| " + " | ".join(cells) + " |")
        totals = [" / ".join(str(tally[client][k]) for k in kinds) for client in clients]
        lines.append(f"| {' / '.join(kinds)} | | | " + " | ".join(totals) + " |")
    return "\n".join(lines) + "\n"


def json_path(path: Path) -> Path:
    """Where the JSON form goes: ``PATH`` with the suffix ``.json``."""
    return path.with_suffix(".json")


def write(path: Path, rows: Iterable[Row]) -> tuple[Path, Path]:
    """Write the Markdown report of a run's rows to ``path`` and its JSON form beside it."""
    return write_report(path, build(rows))


def write_report(path: str | os.PathLike[str], data: dict[str, Any]) -> tuple[Path, Path]:
    """Write a report's data (from a run's JSON report, or :func:`report_from_pins`) as
    Markdown to ``path`` and as JSON beside it (``path`` with the suffix ``.json``; when
    ``path`` already ends in ``.json``, the Markdown goes to ``path`` with ``.md``).

    Returns the two paths written: ``(markdown, json)``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_markdown(data), encoding="utf-8")
    other = json_path(path)
    if other == path:  # PATH already ends in .json: the Markdown goes to PATH.md
        path = path.with_suffix(".md")
        path.write_text(report_markdown(data), encoding="utf-8")
    other.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, other
