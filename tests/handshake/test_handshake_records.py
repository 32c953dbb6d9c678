"""What the server records for every handshake catalogue entry, whatever the client.

Which client refuses which entry is the conformance kit's table (tests/clients/); here one
client (websockets' sync client) meets each entry and the test checks the server's side: it
read the request (or not), and wrote the entry's answer (or not).
"""

from __future__ import annotations

import contextlib

import pytest

from pytest_wsmock import HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS, Handshake, MockServer

from ..adapters.python_clients import ClientFailure, WebsocketsSync

ENTRIES = (*HANDSHAKE_FAILURES, *HANDSHAKE_REJECTIONS)

#: The client's open timeout (never-respond waits this long).
TIMEOUT = 1.0


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.id)
def test_server_records_the_answer(ws_server: MockServer, entry: Handshake) -> None:
    """The record has the request (unless the server closed before it) and the entry's
    response (unless the entry writes none, or only part of one)."""
    ws_server.handshake(entry)
    offered = ["chat"] if entry.subprotocols_offered is True else []
    with contextlib.suppress(ClientFailure):
        session = WebsocketsSync().connect(
            ws_server.url, ssl=None, ca_path=None, subprotocols=offered, timeout=TIMEOUT
        )
        session.close()
    conn = ws_server.wait_for_connection(timeout=5)
    conn.wait_closed(timeout=5)
    assert conn.handshake == entry
    if entry.action == "close-before-request":
        assert conn.request is None
    else:
        assert conn.request is not None, conn.notes
        assert conn.request.subprotocols == tuple(offered)
    if entry.action == "respond" and entry.truncate_at is None:
        assert conn.response is not None, conn.notes
        assert conn.response.status == entry.status
        assert conn.accepted is (entry.status == 101)
    else:
        assert conn.response is None
        assert not conn.accepted


def test_catalogue_entries_have_id_description_and_rule() -> None:
    """Every catalogue entry has a unique id, a description and the rule it breaks."""
    ids = [entry.id for entry in ENTRIES]
    assert len(set(ids)) == len(ids), ids
    for entry in ENTRIES:
        assert entry.id
        assert entry.description
        assert entry.rfc, entry.id
    assert {entry.status for entry in HANDSHAKE_REJECTIONS} >= {401, 403, 426, 500, 503}
