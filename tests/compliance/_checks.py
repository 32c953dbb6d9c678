"""Assertions shared by the compliance tests: the record, and the strict-mode verdict."""

from __future__ import annotations

import pytest

from pytest_wsmock import ClientViolationError, Connection, MockServer, Violation

from ._raw import TIMEOUT


def closed_connection(server: MockServer) -> Connection:
    """The server's first connection, once it has ended."""
    conn = server.wait_for_connection(0, timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    return conn


def assert_recorded(conn: Connection, kind: str, rfc: str) -> Violation:
    """The connection's record holds exactly one violation, of this kind and RFC section."""
    kinds = [(v.kind, v.rfc) for v in conn.violations]
    assert kinds == [(kind, rfc)], conn.violations
    return conn.violations[0]


def assert_strict_fails(server: MockServer, *kinds: str) -> ClientViolationError:
    """Stop the server; in strict mode its verdict is a ClientViolationError naming ``kinds``."""
    server.stop()
    with pytest.raises(ClientViolationError) as caught:
        server.check()
    assert [v.kind for _, v in caught.value.violations] == list(kinds)
    for _, violation in caught.value.violations:
        assert f"{violation.kind}: " in str(caught.value)
        assert f"({violation.rfc})" in str(caught.value)
    return caught.value


def assert_strict_passes(server: MockServer) -> None:
    """Stop the server; strict mode finds nothing to fail the test for."""
    server.stop()
    server.check()
