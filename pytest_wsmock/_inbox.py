"""What the tasks of one connection share: a one-consumer queue between the task that reads the
connection and its handler or script, and the lock frames are written under."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import anyio

T = TypeVar("T")


class Inbox(Generic[T]):
    """A one-consumer queue between the reader task and a handler.

    anyio's memory streams pass every receive through the event loop once even when an item
    is waiting; this one waits only when it is empty, which saves a loop iteration per message.
    """

    def __init__(self) -> None:
        self._items: collections.deque[T] = collections.deque()
        self._ready = anyio.Event()
        self._closed = False

    def put(self, item: T) -> None:
        if not self._closed:
            self._items.append(item)
            self._ready.set()

    def close(self) -> None:
        """No more items: a waiting or later ``take`` ends with ``anyio.EndOfStream`` once
        the queued items are taken."""
        self._closed = True
        self._ready.set()

    async def take(self, wanted: Callable[[T], bool]) -> T:
        """The first queued item that ``wanted`` accepts (waiting for one); others stay."""
        while True:
            for index, item in enumerate(self._items):
                if wanted(item):
                    del self._items[index]
                    return item
            if self._closed:
                raise anyio.EndOfStream
            self._ready = anyio.Event()
            await self._ready.wait()

    async def get(self) -> T:
        """The oldest queued item (waiting for one)."""
        return await self.take(_anything)


def _anything(item: object) -> bool:
    return True


class WriteLock:
    """The lock a connection's frames are written under, so no two writers interleave.

    anyio's ``Lock`` (even with ``fast_acquire``) looks up the current task and walks its cancel
    scopes on every acquire; a mock server takes this lock once per frame and nearly always
    finds it free, so here the free case costs one attribute test. Waiters queue in order and
    the lock passes straight to the first of them. Unlike anyio's lock it does not check for
    cancellation when it is free: the write it guards checks at its next wait.
    """

    __slots__ = ("_current", "_owner", "_waiters")

    def __init__(self) -> None:
        self._current = _current_task_function()
        self._owner: object | None = None
        self._waiters: collections.deque[tuple[object, anyio.Event]] = collections.deque()

    @property
    def owner(self) -> object | None:
        """The task that holds the lock (compare with `current_task`), or ``None``."""
        return self._owner

    def current_task(self) -> object:
        """The running task, as `owner` names it."""
        return self._current()

    async def __aenter__(self) -> None:
        me = self._current()
        if self._owner is None and not self._waiters:
            self._owner = me
            return
        if self._owner is me:
            raise RuntimeError("the write lock is not reentrant: this task already holds it")
        entry = (me, anyio.Event())
        self._waiters.append(entry)
        try:
            await entry[1].wait()
        except BaseException:
            if entry[1].is_set():
                self._release()  # it was passed to us as we were cancelled: pass it on
            else:
                self._waiters.remove(entry)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._release()

    def _release(self) -> None:
        if self._waiters:
            task, event = self._waiters.popleft()
            self._owner = task
            event.set()
        else:
            self._owner = None


def _current_task_function() -> Callable[[], Any]:
    """How to name the running task cheaply on this backend (asyncio or trio)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_task
    return asyncio.current_task
