"""The event-loop threads that serve every mock server of the process, one per anyio backend."""

from __future__ import annotations

import atexit
import contextlib
import threading
from typing import Any

import anyio.from_thread


class _Portals:
    """One event-loop thread per anyio backend, shared by every server of the process.

    Starting a thread and an event loop costs milliseconds; a listener costs microseconds. So a
    per-test server is only a listener on a loop that lives as long as the test session.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._portals: dict[str, tuple[contextlib.AbstractContextManager[Any], Any]] = {}

    def get(self, backend: str) -> anyio.from_thread.BlockingPortal:
        with self._lock:
            if backend not in self._portals:
                manager = anyio.from_thread.start_blocking_portal(backend)
                self._portals[backend] = (manager, manager.__enter__())
            portal: anyio.from_thread.BlockingPortal = self._portals[backend][1]
            return portal

    def close_all(self) -> None:
        """Stop every portal thread (at the end of the test session)."""
        with self._lock:
            portals, self._portals = self._portals, {}
        for manager, _ in portals.values():
            manager.__exit__(None, None, None)


PORTALS = _Portals()
atexit.register(PORTALS.close_all)
