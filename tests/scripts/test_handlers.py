"""Handlers: an exception fails the test with its traceback, the silent handler, and the echo
handler with fragmented and very large messages."""

from __future__ import annotations

import random

import pytest

from pytest_wsmock import Direction, MockServer, echo, silent

from ._support import TIMEOUT, sync_client

SHORT = 0.2
MiB = 2**20

#: The inner run's ini (see test_script_failures).
INI = """\
[pytest]
addopts = -p no:hypothesispytest -p no:benchmark --strict-markers
filterwarnings =
    error
asyncio_default_fixture_loop_scope = function
"""


def test_handler_exception_fails_the_test_with_traceback(pytester: pytest.Pytester) -> None:
    """A raising handler: close 1011, then the test fails with the handler's traceback."""
    pytester.makeini(INI)
    pytester.makepyfile(
        """
        import websockets.sync.client
        from websockets.exceptions import ConnectionClosedError


        async def grumpy(ws):
            message = await ws.receive()
            raise ValueError(f"unexpected {message.text!r}")


        async def asserting(ws):
            message = await ws.receive()
            assert message.text == "expected", "the handler's own assertion"


        def talk(server, handler):
            server.handler(handler)
            with websockets.sync.client.connect(
                server.url, open_timeout=5, close_timeout=5, proxy=None
            ) as ws:
                ws.send("hi")
                try:
                    ws.recv(timeout=5)
                except ConnectionClosedError as exc:
                    return exc.rcvd.code
            raise AssertionError("the server did not close the connection")


        def test_grumpy(ws_server):
            assert talk(ws_server, grumpy) == 1011


        def test_asserting(ws_server):
            assert talk(ws_server, asserting) == 1011
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*_ test_grumpy _*",
            "*async def grumpy(ws):*",
            '>*raise ValueError(f"unexpected {message.text!r}")',
            "E*ValueError: unexpected 'hi'",
            "*The above exception was the direct cause of the following exception:*",
            "E*ServerError: the mock server at ws://127.0.0.1:* failed: handler grumpy on "
            "connection #0 (GET /): ValueError: unexpected 'hi'",
            "*_ test_asserting _*",
            "E*AssertionError: the handler's own assertion*",
        ]
    )


def test_silent_handler_records_and_says_nothing(ws_server: MockServer) -> None:
    """silent records messages, sends nothing, and stays open until the client closes."""
    ws_server.handler(silent)
    with sync_client(ws_server.url) as client:
        client.send("one")
        client.send(b"two")
        with pytest.raises(TimeoutError):
            client.recv(timeout=SHORT)
        conn = ws_server.wait_for_connection(timeout=TIMEOUT)
        assert not conn.closed
        assert [m.value for m in conn.wait_for_messages(2, timeout=TIMEOUT)] == ["one", b"two"]
    info = conn.wait_closed(timeout=TIMEOUT)
    assert conn.sent == []
    assert (info.initiator, info.clean) == (Direction.CLIENT, True)


@pytest.mark.parametrize(
    "fragments",
    [
        pytest.param(["frag", "mented ", "text"], id="text"),
        pytest.param([b"\x00" * 10, b"", b"\xff" * 70000], id="binary-with-empty-fragment"),
        pytest.param(["é"] * 300, id="300-fragments"),
    ],
)
def test_echo_fragmented_messages(
    ws_server: MockServer, fragments: list[str] | list[bytes]
) -> None:
    """echo sends a fragmented message back whole, as the same type."""
    ws_server.handler(echo)
    whole = fragments[0][:0].join(fragments)  # type: ignore[arg-type]
    with sync_client(ws_server.url) as client:
        client.send(fragments)
        assert client.recv(timeout=TIMEOUT) == whole
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    (received,) = conn.received
    # websockets ends a fragmented message with an empty final frame.
    assert (received.value, received.frames) == (whole, len(fragments) + 1)
    client_data = [
        (f.opcode_name, f.fin, len(f.payload))
        for f in conn.frames
        if f.direction is Direction.CLIENT and not f.is_control
    ]
    first = "TEXT" if isinstance(whole, str) else "BINARY"
    sizes = [len(f.encode() if isinstance(f, str) else f) for f in fragments]
    assert client_data == [
        (first if index == 0 else "CONTINUATION", False, size) for index, size in enumerate(sizes)
    ] + [("CONTINUATION", True, 0)]
    assert [m.value for m in conn.sent] == [whole]


@pytest.mark.parametrize("fragmented", [False, True], ids=["one-frame", "16-fragments"])
def test_echo_16_mib_message(ws_server: MockServer, fragmented: bool) -> None:
    """echo sends a 16 MiB binary message back intact, in one frame or in 16 fragments."""
    ws_server.handler(echo)
    data = random.Random(16).randbytes(16 * MiB)
    with sync_client(ws_server.url, max_size=None) as client:
        if fragmented:
            client.send([data[i : i + MiB] for i in range(0, len(data), MiB)])
        else:
            client.send(data)
        # A hang guard, not a speed check (speed is measured by benchmarks/).
        assert client.recv(timeout=30) == data
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert conn.received[0].frames == (17 if fragmented else 1)  # + websockets' empty last
    assert len(conn.sent[0].data) == 16 * MiB
