"""The client table in docs/ is exactly what ``render`` makes of expected.py and the catalogue.

The matrix test holds expected.py to the real clients; this test holds the page to expected.py,
so the page cannot drift from what the clients do.
"""

from __future__ import annotations

from pytest_wsmock import HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS

from .clients import CLIENTS
from .render import COMMAND, PATH, render


def test_handshake_clients_page_is_current() -> None:
    """docs/handshake-clients.md equals what the renderer produces now."""
    assert PATH.exists(), f"docs/handshake-clients.md is missing: generate it with `{COMMAND}`"
    assert PATH.read_text(encoding="utf-8") == render(), (
        f"docs/handshake-clients.md is out of date with tests/handshake/expected.py or the "
        f"catalogue: regenerate it with `{COMMAND}` and commit the result"
    )


def test_handshake_clients_page_has_every_entry_client_and_rule() -> None:
    """The page has a row per catalogue entry with its rule, a column per client, a summary per
    client, and the WHATWG note on missing-subprotocol."""
    page = render()
    for entry in HANDSHAKE_FAILURES + HANDSHAKE_REJECTIONS:
        row = next(line for line in page.splitlines() if line.startswith(f"| `{entry.id}` |"))
        assert entry.rfc.replace("|", "\\|") in row
        assert len(row.split(" | ")) == 3 + len(CLIENTS), row
    for client in CLIENTS:
        assert f"- **{client}** accepts " in page
    assert "`missing-subprotocol`" in page
    assert "breaks a WHATWG rule, not an RFC 6455 one" in page
