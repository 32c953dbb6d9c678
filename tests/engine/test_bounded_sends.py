"""Sends the test makes on a live connection are bounded by the server's ``timeout``: a client
that never reads cannot hang the test."""

from __future__ import annotations

import pytest

from pytest_wsmock import MockServer, WaitTimeout

from ..compliance._raw import RawClient

#: More than any loopback socket buffers: the client not reading must show within this many.
MAX_SENDS = 200


@pytest.mark.wsmock(timeout=1)
def test_send_binary_to_a_client_that_does_not_read_raises_wait_timeout(
    ws_server: MockServer,
) -> None:
    """send_binary() raises WaitTimeout (client did not read) and the connection then ends."""
    with RawClient.connect(ws_server.host, ws_server.port):
        conn = ws_server.wait_for_connection()
        with pytest.raises(WaitTimeout, match="did not read") as caught:  # noqa: PT012
            for _ in range(MAX_SENDS):
                conn.send_binary(b"x" * 2**20)
        assert "the client did not read" in str(caught.value)
        conn.wait_closed(timeout=10)
    assert conn.closed
