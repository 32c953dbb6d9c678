"""Starting a task in the loop thread without waiting for it (issue 12: a server's start and
stop no longer wait for a round trip between the threads): results, exceptions and
cancellation still get through."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError

import anyio
import pytest

from pytest_wsmock._loop import PORTALS

BACKENDS = ["asyncio", "trio"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_spawn_returns_before_the_task_runs_and_gives_its_result(backend: str) -> None:
    started = threading.Event()
    go = threading.Event()

    async def task(value: int) -> int:
        started.set()
        await anyio.to_thread.run_sync(go.wait, 5.0)
        return value * 2

    future = PORTALS.spawn(backend, task, 21)
    assert not future.done()  # spawn did not wait for the task
    assert started.wait(5.0)
    go.set()
    assert future.result(timeout=5.0) == 42


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
