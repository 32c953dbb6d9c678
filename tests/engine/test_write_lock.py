"""The connection's write lock (issue 12): cheap when free, but still a lock: writers in
order, and cancellation never leaves it held."""

from __future__ import annotations

import asyncio

import anyio
import anyio.lowlevel
import pytest

from pytest_wsmock._inbox import WriteLock

BACKENDS = ["asyncio", "trio"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_writers_take_the_lock_in_the_order_they_asked(backend: str) -> None:
    order: list[str] = []

    async def main() -> None:
        lock = WriteLock()

        async def writer(name: str) -> None:
            async with lock:
                order.append(f"{name} in")
                await anyio.sleep(0.01)  # held across a wait, as a fragmented message is
                order.append(f"{name} out")

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                for name in "abc":
                    tg.start_soon(writer, name)
                    await anyio.lowlevel.checkpoint()  # a asks first, then b, then c
        assert lock.owner is None

    anyio.run(main, backend=backend)
    assert order == ["a in", "a out", "b in", "b out", "c in", "c out"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_owner_names_the_task_that_holds_it(backend: str) -> None:
    async def main() -> None:
        lock = WriteLock()
        assert lock.owner is None
        async with lock:
            assert lock.owner is lock.current_task()
            with pytest.raises(RuntimeError, match="not reentrant"):
                async with lock:
                    pass
        assert lock.owner is None

    anyio.run(main, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_writer_cancelled_while_waiting_leaves_the_queue(backend: str) -> None:
    got: list[str] = []

    async def main() -> None:
        lock = WriteLock()
        scope = anyio.CancelScope()

        async def cancelled_waiter() -> None:
            with scope:
                async with lock:
                    got.append("cancelled")

        async def waiter() -> None:
            async with lock:
                got.append("second")

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                await lock.__aenter__()
                tg.start_soon(cancelled_waiter)
                await anyio.sleep(0.01)
                tg.start_soon(waiter)
                await anyio.sleep(0.01)
                scope.cancel()  # while it waits behind us
                await anyio.sleep(0.01)
                await lock.__aexit__(None, None, None)
        assert lock.owner is None

    anyio.run(main, backend=backend)
    assert got == ["second"]


def test_a_writer_cancelled_as_the_lock_passes_to_it_passes_it_on() -> None:
    """The holder releases (the lock is now the waiter's) and the waiter is cancelled before
    it runs: the lock goes on to the next waiter instead of staying held forever. (Only a
    plain asyncio ``Task.cancel`` can land there: anyio's cancel scopes and trio do not
    cancel a task that was already woken.)"""
    got: list[str] = []

    async def main() -> None:
        lock = WriteLock()

        async def waiter(name: str) -> None:
            async with lock:
                got.append(name)

        await lock.__aenter__()
        first = asyncio.create_task(waiter("first"))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(waiter("second"))
        await asyncio.sleep(0.01)
        await lock.__aexit__(None, None, None)  # passes to first...
        first.cancel()  # ...which is cancelled before it runs
        await asyncio.wait_for(second, 5)
        with pytest.raises(asyncio.CancelledError):
            await first
        assert lock.owner is None

    asyncio.run(main())
    assert got == ["second"]
