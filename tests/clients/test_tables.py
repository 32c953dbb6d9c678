"""The docs pages of the client tables match the pins they are generated from."""

from __future__ import annotations

from pathlib import Path

import pytest

from .render import CLIENTS, COMMAND, pages


@pytest.mark.parametrize("path", list(pages()), ids=lambda path: path.name)
def test_page_matches_the_pins(path: Path) -> None:
    expected = pages()[path]
    actual = path.read_text(encoding="utf-8") if path.exists() else ""
    assert actual == expected, (
        f"{path} differs from tests/clients/conformance.json: run `{COMMAND}` and commit the page"
    )


def test_every_page_has_every_client() -> None:
    for text in pages().values():
        header = next(line for line in text.splitlines() if line.startswith("| entry id |"))
        assert all(f" {client} |" in header for client in CLIENTS), header
