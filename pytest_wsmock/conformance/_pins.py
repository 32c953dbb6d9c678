"""Pinned verdicts: a JSON file the user owns, ``{client: {case id: verdict summary}}``.

A pin is one summary (``"caught InvalidStatus"``), or a list of the summaries an entry may
give when its verdict depends on timing inside the client (a set). ``--wsmock-pin`` rewrites
the file from a run: entries that did not run keep their pin, and a set that holds the new
verdict is kept as it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from .._errors import ConfigError

#: One pin: a verdict summary, or the summaries of a set.
Pin = str | list[str]
#: A pin file's contents.
Pins = dict[str, dict[str, Pin]]

#: The option that rewrites the pins.
OPTION = "--wsmock-pin"


class PinFileError(ConfigError):
    """A pin file that is not what the kit writes (bad JSON, or another shape)."""

    __module__ = "pytest_wsmock.conformance"


def load(path: Path) -> Pins | None:
    """The pins in ``path``; ``None`` when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PinFileError(
            f"{path} is not valid JSON ({exc}): fix it, or delete it and run pytest {OPTION}"
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(row, dict) and all(isinstance(pin, str) or _is_set(pin) for pin in row.values())
        for row in data.values()
    ):
        raise PinFileError(
            f"{path} is not a pin file: it must map each client name to an object of "
            f'case id -> verdict summary, or a list of summaries (e.g. {{"my-client": '
            f'{{"handshake-failure/wrong-accept": "caught InvalidStatus"}}}})'
        )
    return data


def read_pins(path: str | os.PathLike[str]) -> Pins:
    """The pins in the pin file at ``path``: ``{client: {case id: summary or [summaries]}}``.

    Raises:
        FileNotFoundError: there is no file at ``path`` (the message names ``--wsmock-pin``).
        PinFileError: the file is not valid JSON, or not a pin file's shape."""
    pins = load(Path(path))
    if pins is None:
        raise FileNotFoundError(
            f"{path}: no pin file here; the conformance tests write one when run with {OPTION}"
        )
    return pins


def _is_set(pin: object) -> bool:
    return isinstance(pin, list) and bool(pin) and all(isinstance(item, str) for item in pin)


def allowed(pin: Pin) -> list[str]:
    """The summaries a pin allows."""
    return [pin] if isinstance(pin, str) else list(pin)


def shown(pin: Pin) -> str:
    """A pin as a message shows it: ``caught X`` or ``one of: caught X | accepted``."""
    return pin if isinstance(pin, str) else "one of: " + " | ".join(pin)


def problem(
    path: Path, pins: Pins | None, client: str, case_id: str, summary: str, detail: str
) -> str | None:
    """Why this verdict does not match its pin (``None`` when it does). ``detail`` is the
    verdict with its message, shown after the summary."""
    where = f"{client} on {case_id}"
    if pins is None:
        return (
            f"{where}: the pin file {path} does not exist (verdict now: {detail}). Run pytest "
            f"{OPTION} to create it from this run, then review and commit it."
        )
    pin = pins.get(client, {}).get(case_id)
    if pin is None:
        return (
            f"{where}: no pin in {path} (verdict now: {detail}). Run pytest {OPTION} to add "
            f"the verdicts of this run to it, then review the diff."
        )
    if summary in allowed(pin):
        return None
    return (
        f"{where}: the verdict changed\n"
        f"  before (pinned): {shown(pin)}\n"
        f"  after (now):     {detail}\n"
        f"If the change is expected (a client upgrade), run pytest {OPTION} to rewrite the pins "
        f"in {path}, and review the diff."
    )


def merged(old: Pins | None, run: Mapping[str, Mapping[str, Iterable[str]]]) -> Pins:
    """The pins after a run: ``run`` maps client -> case id -> the summaries it gave. A pin
    that allows every summary of the run is kept (a set stays a set); any other becomes the
    run's summary (a sorted list when the run gave several)."""
    pins: Pins = {client: dict(row) for client, row in (old or {}).items()}
    for client, row in run.items():
        target = pins.setdefault(client, {})
        for case_id, summaries in row.items():
            seen = sorted(set(summaries))
            pin = target.get(case_id)
            if pin is not None and set(seen) <= set(allowed(pin)):
                continue
            target[case_id] = seen[0] if len(seen) == 1 else seen
    return pins


def dump(pins: Pins) -> str:
    """The file's text: sorted keys, indent 2, a final newline (diffs read well)."""
    return json.dumps(pins, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path, run: Mapping[str, Mapping[str, Iterable[str]]]) -> bool:
    """Merge ``run`` into the pin file at ``path``; whether its text changed."""
    old = load(path)
    text = dump(merged(old, run))
    if old is not None and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
