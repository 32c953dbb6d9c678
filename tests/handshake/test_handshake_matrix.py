"""Every real client against every handshake catalogue entry, over real sockets.

Each case starts a ``ws_server`` that answers with one entry of ``HANDSHAKE_FAILURES`` or
``HANDSHAKE_REJECTIONS``, lets one client try to connect with a 1 s open timeout, and checks
both sides: the client did what ``expected.py`` pins (so a client upgrade that changes its
behaviour is noticed), and the server did what the entry says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_wsmock import HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS, Handshake, MockServer

from .clients import CLIENTS, TRIO_WEBSOCKET_LEAK, Outcome, describe, variants
from .expected import EXPECTED
from .measure import ENTRIES, TIMEOUT, subprotocols_for

UPDATE = (
    "update expected.py (python -m tests.handshake.measure > tests/handshake/expected.py) "
    "and regenerate the docs table (python -m tests.handshake.render)"
)


def _cases(entries: tuple[Handshake, ...]) -> Iterator[object]:
    for client in CLIENTS:
        marks = (
            [pytest.mark.filterwarnings(TRIO_WEBSOCKET_LEAK)] if client == "trio-websocket" else []
        )
        for entry in entries:
            yield pytest.param(client, entry, id=f"{client}-{entry.id}", marks=marks)


def _attempt(server: MockServer, client: str, entry: Handshake) -> Outcome:
    """Let ``client`` try ``server`` (answering with ``entry``); check the pinned outcome and
    what the server recorded."""
    server.handshake(entry)
    offered = subprotocols_for(entry)
    outcome = CLIENTS[client](server.url, subprotocols=offered, timeout=TIMEOUT)
    pinned = EXPECTED[client][entry.id]
    assert outcome in variants(pinned), (
        f"client {client} now does {outcome} on entry {entry.id} (was: {describe(pinned)}): "
        f"{UPDATE}"
    )

    conn = server.wait_for_connection(timeout=5)
    assert conn.handshake == entry
    if entry.action == "close-before-request":
        assert conn.request is None
    else:
        assert conn.request is not None, conn.notes
        assert conn.request.subprotocols == tuple(offered or ())
    writes_response = entry.action == "respond" and entry.truncate_at is None
    if writes_response:
        assert conn.response is not None, conn.notes
        assert conn.response.status == entry.status
        assert conn.accepted is (entry.status == 101)
        if outcome.status is not None:
            # A status the client reports is the one on the wire (aiohttp reports 101 when a
            # header of a 101 answer was wrong).
            assert outcome.status == conn.response.status
    else:
        assert conn.response is None
        assert not conn.accepted
    return outcome


@pytest.mark.parametrize(("client", "entry"), list(_cases(HANDSHAKE_FAILURES)))
def test_broken_handshake(ws_server: MockServer, client: str, entry: Handshake) -> None:
    """The client opens or refuses this broken handshake exactly as expected.py pins it."""
    _attempt(ws_server, client, entry)


@pytest.mark.parametrize(("client", "entry"), list(_cases(HANDSHAKE_REJECTIONS)))
def test_rejection(ws_server: MockServer, client: str, entry: Handshake) -> None:
    """The client reports this rejection as pinned, with the entry's status when it shows one."""
    outcome = _attempt(ws_server, client, entry)
    assert not outcome.opened, f"client {client} opened a connection on a {entry.status}"
    if outcome.status is not None:
        assert outcome.status == entry.status


def test_expected_covers_every_client_and_entry() -> None:
    """expected.py has one row per client and, in each, one outcome per catalogue entry."""
    assert list(EXPECTED) == list(CLIENTS)
    ids = [entry.id for entry in ENTRIES]
    for client, row in EXPECTED.items():
        assert list(row) == ids, f"{client}: the row does not match the catalogue; {UPDATE}"


def test_catalogue_entries_have_id_description_and_rule() -> None:
    """Every catalogue entry has a unique id, a description and the rule it breaks."""
    ids = [entry.id for entry in ENTRIES]
    assert len(set(ids)) == len(ids), ids
    for entry in ENTRIES:
        assert entry.id
        assert entry.description
        assert entry.rfc, entry.id
    assert {entry.status for entry in HANDSHAKE_REJECTIONS} >= {401, 403, 426, 500, 503}
