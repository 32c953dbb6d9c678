"""The verdicts of a test session: collected by the tests, handed from xdist workers to the
controller, and written at the end (the pins with ``--wsmock-pin``, the report with
``--wsmock-conformance-report``). The plugin's hooks call these functions."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from . import _pins, _report
from ._report import Row

#: The session's rows (on an xdist worker: that worker's; on the controller: everyone's).
ROWS = pytest.StashKey[list[Row]]()

#: The key of the rows in an xdist worker's ``workeroutput``.
WORKER_KEY = "wsmock_conformance"


def add(config: pytest.Config, row: Row) -> None:
    """Keep ``row`` for the end of the session."""
    config.stash.setdefault(ROWS, []).append(row)


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker."""
    return hasattr(config, "workerinput")


def hand_over(config: pytest.Config) -> None:
    """On an xdist worker: put the worker's rows in its ``workeroutput``."""
    rows = config.stash.get(ROWS, [])
    output = getattr(config, "workeroutput", None)
    if output is not None:
        output[WORKER_KEY] = json.dumps([row.to_json() for row in rows])


def take_over(config: pytest.Config, workeroutput: dict[str, object]) -> None:
    """On the xdist controller: add the rows a worker handed over."""
    text = workeroutput.get(WORKER_KEY)
    if isinstance(text, str):
        rows = config.stash.setdefault(ROWS, [])
        rows.extend(Row.from_json(data) for data in json.loads(text))


def finish(config: pytest.Config, *, pin: bool, report: str | None) -> list[str]:
    """Write the pins (``pin``) and the report (``report``: its path); the lines to show."""
    rows = config.stash.get(ROWS, [])
    lines: list[str] = []
    if pin:
        by_file: dict[str, dict[str, dict[str, list[str]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        for row in rows:
            if row.pins is not None:
                by_file[row.pins][row.client][row.case_id].append(row.verdict.summary)
        for path, run in sorted(by_file.items()):
            changed = _pins.write(Path(path), run)
            state = "rewrote" if changed else "unchanged:"
            count = sum(len(cases) for cases in run.values())
            lines.append(f"wsmock conformance: {state} {path} ({count} verdicts of this run)")
    if report is not None:
        pin_files = {Path(row.pins).resolve() for row in rows if row.pins is not None}
        if _report.json_path(Path(report)).resolve() in pin_files:
            lines.append(
                f"wsmock conformance: did not write the report {report}: its JSON form "
                f"{_report.json_path(Path(report))} would overwrite a pin file; choose another "
                f"--wsmock-conformance-report path"
            )
            return lines
        markdown, data = _report.write(Path(report), rows)
        lines.append(f"wsmock conformance: wrote the report {markdown} and {data}")
    return lines
