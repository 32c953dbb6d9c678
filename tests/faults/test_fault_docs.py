"""The client table in docs/ is exactly what ``render`` makes of expected.py and the catalogue.

The matrix test holds expected.py to the real clients; this test holds the page to expected.py,
so the page cannot drift from what the clients do.
"""

from __future__ import annotations

from pytest_wsmock import TRANSPORT_FAULTS

from .clients import CLIENTS
from .render import COMMAND, PATH, render


def test_fault_clients_page_is_current() -> None:
    """docs/fault-clients.md equals what the renderer produces now."""
    assert PATH.exists(), f"docs/fault-clients.md is missing: generate it with `{COMMAND}`"
    assert PATH.read_text(encoding="utf-8") == render(), (
        f"docs/fault-clients.md is out of date with tests/faults/expected.py or the catalogue: "
        f"regenerate it with `{COMMAND}` and commit the result"
    )


def test_fault_clients_page_has_every_fault_and_client() -> None:
    """The page has a row per catalogue entry with its description and a column per client."""
    page = render()
    header = next(line for line in page.splitlines() if line.startswith("| fault |"))
    for client in CLIENTS:
        assert f" {client} |" in header
    for fault in TRANSPORT_FAULTS:
        row = next(line for line in page.splitlines() if line.startswith(f"| `{fault.id}` |"))
        assert fault.description in row
        assert len(row.split(" | ")) == 3 + len(CLIENTS), row
