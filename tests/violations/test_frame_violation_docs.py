"""The client table in docs/ is exactly what ``render`` makes of expected.py and the catalogue.

The matrix test holds expected.py to the real clients; this test holds the page to expected.py,
so the page cannot drift from what the clients do.
"""

from __future__ import annotations

from pytest_wsmock import FRAME_VIOLATIONS

from .clients import CLIENTS
from .render import COMMAND, PATH, render


def test_frame_violation_clients_page_is_current() -> None:
    """docs/frame-violation-clients.md equals what the renderer produces now."""
    assert PATH.exists(), (
        f"docs/frame-violation-clients.md is missing: generate it with `{COMMAND}`"
    )
    assert PATH.read_text(encoding="utf-8") == render(), (
        f"docs/frame-violation-clients.md is out of date with tests/violations/expected.py or "
        f"the catalogue: regenerate it with `{COMMAND}` and commit the result"
    )


def test_frame_violation_clients_page_has_every_entry_client_and_rule() -> None:
    """The page has a row per entry with its rule and close code, a column per client and a
    summary line per client."""
    page = render()
    for entry in FRAME_VIOLATIONS:
        row = next(line for line in page.splitlines() if line.startswith(f"| `{entry.id}` |"))
        cells = row.split(" | ")
        assert len(cells) == 4 + len(CLIENTS), row
        assert cells[2] == entry.rfc.replace("|", "\\|")
        assert cells[3] == str(entry.close_code)
    for client in CLIENTS:
        assert f"- **{client}** fails the connection with the right close code on " in page


def test_catalogues_page_lists_every_entry() -> None:
    """docs/catalogues.md has a row per FRAME_VIOLATIONS entry with its description, rule and
    close code, exactly as the catalogue says, and nothing else in that table."""
    page = (PATH.parent / "catalogues.md").read_text(encoding="utf-8")
    ids = {entry.id for entry in FRAME_VIOLATIONS}
    for entry in FRAME_VIOLATIONS:
        row = f"| `{entry.id}` | {entry.description} | {entry.rfc} | {entry.close_code} |"
        assert row in page, f"docs/catalogues.md: the row of {entry.id} should read: {row}"
    rows = [line for line in page.splitlines() if line.startswith("| `") and line.endswith(" |")]
    listed = {line.split("`")[1] for line in rows if line.count(" | ") == 3}
    assert listed == ids, f"docs/catalogues.md lists entries the catalogue lacks: {listed - ids}"
