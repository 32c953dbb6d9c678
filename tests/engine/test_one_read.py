"""Frames that reach the server in one read (a pipelining client): their answers may leave in
one write (issue 12), but every answer is in the record before its bytes, in order, and an
answer that waits (a rule with ``wait``) does not hold back the answers before it."""

from __future__ import annotations

import threading

import anyio
import pytest

from pytest_wsmock import (
    Direction,
    ServerFactory,
    WebSocket,
    call,
    echo,
    expect_text,
    send_text,
)
from pytest_wsmock._protocol import Opcode, encode_frame

from ..compliance._raw import MASK_KEY, RawClient

BACKENDS = ["asyncio", "trio"]
COUNT = 32


def _batch(texts: list[str]) -> bytes:
    return b"".join(encode_frame(Opcode.TEXT, text.encode(), mask_key=MASK_KEY) for text in texts)


@pytest.mark.parametrize("n", range(5))
@pytest.mark.parametrize("backend", BACKENDS)
def test_an_echo_of_frames_sent_in_one_write_is_whole_and_in_order(
    ws_server_factory: ServerFactory, backend: str, n: int
) -> None:
    server = ws_server_factory(backend=backend)
    server.handler(echo)
    texts = [f"message {i}" for i in range(COUNT)]
    with RawClient.connect(server.host, server.port) as client:
        client.send_raw(_batch(texts))
        echoed = [client.read_frame().payload.decode() for _ in texts]
        # Every echo is in the record once the client has read it (record before bytes).
        conn = server.wait_for_connection()
        sent = [m.text for m in conn.messages if m.direction is Direction.SERVER]
        assert sent == texts
        client.send_close(1000)
        assert client.read_close().close_code == 1000
    assert echoed == texts
    conn.wait_closed(timeout=5)
    frames = [f for f in conn.frames if f.opcode == Opcode.TEXT]
    # Each echo is recorded after the frame it answers.
    for index, text in enumerate(texts):
        asked = next(
            i
            for i, f in enumerate(frames)
            if f.direction is Direction.CLIENT and f.payload == text.encode()
        )
        answered = next(
            i
            for i, f in enumerate(frames)
            if f.direction is Direction.SERVER and f.payload == text.encode()
        )
        assert asked < answered, f"echo #{index} recorded before the message it answers"


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_answer_that_waits_does_not_hold_back_those_before_it(
    ws_server_factory: ServerFactory, backend: str
) -> None:
    server = ws_server_factory(backend=backend)
    released = threading.Event()

    async def until_released(ws: WebSocket) -> None:
        await anyio.to_thread.run_sync(released.wait, 10.0)

    server.on(expect_text("a"), send_text("answer a"))
    server.on(expect_text("b"), call(until_released), send_text("answer b"))
    with RawClient.connect(server.host, server.port) as client:
        client.send_raw(_batch(["a", "b"]))
        # The rule for "b" waits (in the reading task) until released: "answer a" must reach
        # the client meanwhile, not wait behind it.
        first = client.read_frame()
        released.set()
        second = client.read_frame()
        client.send_close(1000)
        assert client.read_close().close_code == 1000
    assert (first.payload, second.payload) == (b"answer a", b"answer b")
