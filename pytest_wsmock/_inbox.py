"""A one-consumer queue between the task that reads a connection and its handler or script."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Generic, TypeVar

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
