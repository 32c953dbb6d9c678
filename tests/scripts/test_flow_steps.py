"""Steps that pace and end a script (wait, wait_for_release, close, call, send_frame), which
connection runs which script, and what the server does after the last step."""

from __future__ import annotations

import time

import pytest
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

from pytest_wsmock import (
    Direction,
    MockServer,
    Opcode,
    WebSocket,
    call,
    close,
    echo,
    expect_text,
    send_frame,
    send_text,
    wait,
    wait_for_release,
)

from ._support import TIMEOUT, server_frames, sync_client

SHORT = 0.2


def test_wait_pauses_the_script(ws_server: MockServer) -> None:
    """wait(seconds) puts that much time between the steps around it."""
    ws_server.script(send_text("before"), wait(SHORT), send_text("after"))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "before"
        started = time.monotonic()
        assert client.recv(timeout=TIMEOUT) == "after"
        assert time.monotonic() - started >= SHORT * 0.9
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    first, second = conn.sent
    assert second.time - first.time >= SHORT


def test_wait_for_release_lets_the_test_act_in_between(ws_server: MockServer) -> None:
    """wait_for_release holds the script until release(label); the test acts meanwhile."""
    ws_server.script(send_text("ready"), wait_for_release("go"), send_text("released"))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "ready"
        ws_server.release("other")
        with pytest.raises(TimeoutError):
            client.recv(timeout=SHORT)
        conn = ws_server.wait_for_connection(timeout=TIMEOUT)
        conn.send_text("from the test")  # the test acts while the script waits
        assert client.recv(timeout=TIMEOUT) == "from the test"
        ws_server.release("go")
        assert client.recv(timeout=TIMEOUT) == "released"
    conn.wait_closed(timeout=TIMEOUT)
    assert [m.text for m in conn.sent] == ["ready", "from the test", "released"]


def test_release_before_the_step_is_remembered(ws_server: MockServer) -> None:
    """A release before any connection reaches the step lets every connection go on."""
    ws_server.script(wait_for_release(), send_text("went through"))
    ws_server.release()
    for _ in range(2):
        with sync_client(ws_server.url) as client:
            assert client.recv(timeout=TIMEOUT) == "went through"


@pytest.mark.parametrize(
    ("code", "reason", "seen_code"),
    [(1000, "", 1000), (4001, "bye now", 4001), (1001, "", 1001), (None, "", 1005)],
)
def test_close_with_code_and_reason(
    ws_server: MockServer, code: int | None, reason: str, seen_code: int
) -> None:
    """close(code, reason) reaches the client; close(None) is seen as 1005."""
    ws_server.script(send_text("hi"), close(code, reason))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "hi"
        with pytest.raises((ConnectionClosedOK, ConnectionClosedError)) as caught:
            client.recv(timeout=TIMEOUT)
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (seen_code, reason)
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    info = conn.wait_closed(timeout=TIMEOUT)
    assert (info.initiator, info.server_code, info.server_reason) == (
        Direction.SERVER,
        code,
        reason,
    )
    assert info.clean


def test_call_runs_an_async_function(ws_server: MockServer) -> None:
    """call(fn) runs an async function with the connection's WebSocket, between other steps."""

    async def shout_back(ws: WebSocket) -> None:
        message = await ws.receive(timeout=TIMEOUT)
        await ws.send_text(message.text.upper())

    ws_server.script(send_text("say something"), call(shout_back), send_text("done"))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "say something"
        client.send("hello")
        assert client.recv(timeout=TIMEOUT) == "HELLO"
        assert client.recv(timeout=TIMEOUT) == "done"


def test_send_frame_writes_a_raw_frame(ws_server: MockServer) -> None:
    """send_frame writes one frame as described: here a message built from two raw frames."""
    ws_server.script(
        send_frame(Opcode.TEXT, b"raw ", fin=False),
        send_frame(Opcode.CONTINUATION, b"frames"),
    )
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "raw frames"
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert server_frames(conn.frames) == [("TEXT", False, 4), ("CONTINUATION", True, 6)]


def test_send_frame_can_break_the_protocol(ws_server: MockServer) -> None:
    """send_frame writes an illegal RSV2 frame; the client fails the connection with 1002."""
    ws_server.script(send_frame(Opcode.TEXT, b"bad", rsv2=True))
    with sync_client(ws_server.url) as client, pytest.raises(ConnectionClosedError) as caught:
        client.recv(timeout=TIMEOUT)
    assert caught.value.sent is not None
    assert caught.value.sent.code == 1002
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    info = conn.wait_closed(timeout=TIMEOUT)
    frame = next(f for f in conn.frames if f.direction is Direction.SERVER)
    assert (frame.opcode, frame.rsv2, frame.payload) == (Opcode.TEXT, True, b"bad")
    assert info.code == 1002
    assert conn.violations == []


def test_after_the_last_step(ws_server: MockServer) -> None:
    """After the last step the server records, answers pings and answers the close."""
    ws_server.script(send_text("only step"))
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "only step"
        client.send("after the script")
        assert client.ping(b"still there?").wait(TIMEOUT)
        with pytest.raises(TimeoutError):
            client.recv(timeout=SHORT)
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    info = conn.wait_closed(timeout=TIMEOUT)
    assert conn.received_texts == ["after the script"]
    assert conn.pings == [b"still there?"]
    assert (info.initiator, info.clean) == (Direction.CLIENT, True)
    assert conn.script_failure is None


def test_per_connection_scripts(ws_server: MockServer) -> None:
    """script(..., connection=N) is for connection #N; the default script for the rest."""
    ws_server.script(send_text("first"), connection=0)
    ws_server.script(send_text("second"), connection=1)
    ws_server.script(send_text("everyone else"))
    seen = []
    for _ in range(4):
        with sync_client(ws_server.url) as client:
            seen.append(client.recv(timeout=TIMEOUT))
    assert seen == ["first", "second", "everyone else", "everyone else"]


def test_script_takes_precedence_over_the_handler(ws_server: MockServer) -> None:
    """A connection with a script runs it instead of the handler; the others do not."""
    ws_server.handler(echo)
    ws_server.script(send_text("scripted"), expect_text("x"), connection=1)
    with sync_client(ws_server.url) as client:
        client.send("echo me")
        assert client.recv(timeout=TIMEOUT) == "echo me"
    with sync_client(ws_server.url) as client:
        assert client.recv(timeout=TIMEOUT) == "scripted"
        client.send("x")
        with pytest.raises(TimeoutError):
            client.recv(timeout=SHORT)  # not echoed: the handler does not run here
    with sync_client(ws_server.url) as client:
        client.send("echo again")
        assert client.recv(timeout=TIMEOUT) == "echo again"


def test_default_script_replaces_the_handler(ws_server: MockServer) -> None:
    """A script for every connection replaces the handler on all of them."""
    ws_server.handler(echo)
    ws_server.script(expect_text("hi"), send_text("scripted"))
    with sync_client(ws_server.url) as client:
        client.send("hi")
        assert client.recv(timeout=TIMEOUT) == "scripted"
        with pytest.raises(TimeoutError):
            client.recv(timeout=SHORT)
