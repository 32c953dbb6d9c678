"""Starting a task in the loop thread without waiting for it (issue 12: a server's start and
stop no longer wait for a round trip between the threads): results, exceptions and
cancellation still get through."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError, Future

import anyio
import pytest

from pytest_wsmock import ServerError
from pytest_wsmock._loop import PORTALS, _LoopThread, _Portals

BACKENDS = ["asyncio", "trio"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_spawn_returns_while_the_loop_is_busy_and_gives_the_result(backend: str) -> None:
    """Spawning while the loop thread is blocked (a portal's start_task_soon would wait for
    it) returns at once; the task runs once the loop is free."""
    loop_blocked, unblock, returned = threading.Event(), threading.Event(), threading.Event()

    async def block_the_loop() -> None:
        loop_blocked.set()
        unblock.wait(10.0)  # synchronous on purpose: the loop can run nothing meanwhile

    async def task(value: int) -> int:
        return value * 2

    blocker = PORTALS.spawn(backend, block_the_loop)
    assert loop_blocked.wait(5.0)
    futures: list[Future[int]] = []

    def spawn() -> None:
        futures.append(PORTALS.spawn(backend, task, 21))
        returned.set()

    spawner = threading.Thread(target=spawn)
    spawner.start()
    try:
        assert returned.wait(5.0), "spawn waited for the busy loop"
        assert not futures[0].done()
    finally:
        unblock.set()
        spawner.join(5.0)
    assert futures[0].result(timeout=5.0) == 42
    blocker.result(timeout=5.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_spawn_hands_over_the_tasks_exception(backend: str) -> None:
    async def task() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        PORTALS.spawn(backend, task).result(timeout=5.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cancelling_the_future_cancels_the_task(backend: str) -> None:
    started = threading.Event()
    ended: list[str] = []

    async def task() -> None:
        started.set()
        try:
            await anyio.sleep(30)
        finally:
            ended.append("ended")

    future = PORTALS.spawn(backend, task)
    assert started.wait(5.0)
    assert future.cancel()
    with pytest.raises(CancelledError):
        future.result(timeout=5.0)
    deadline = time.monotonic() + 5.0
    while not ended and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended == ["ended"], "the task was not cancelled within 5 s of its future"


@pytest.mark.parametrize("backend", BACKENDS)
def test_spawn_on_a_stopping_loop_fails_at_once(backend: str) -> None:
    portals = _Portals()  # a loop thread of its own, stopped here, not the session's

    async def task() -> None:
        await anyio.sleep(30)

    running = portals.spawn(backend, task)
    assert portals.close_all(timeout=5.0) == []
    with pytest.raises(CancelledError):  # a task cancelled with its loop: a cancelled future
        running.result(timeout=5.0)
    loop = _LoopThread(backend)
    loop.start()
    loop.request_stop().join(5.0)
    with pytest.raises(ServerError, match="stopping"):
        loop.spawn(task)
