"""The event-loop threads that serve every mock server of the process, one per anyio backend."""

from __future__ import annotations

import atexit
import contextlib
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import Future
from types import CodeType, FrameType
from typing import Any, TypeVar

import anyio
import anyio.abc
import anyio.from_thread

from ._errors import ServerError

#: Seconds that stopping every loop thread may take at the end of the session. A thread still
#: running after that is left behind (it is a daemon thread, so it does not keep the process
#: alive) and reported, rather than waited for forever.
CLOSE_TIMEOUT = 5.0

T = TypeVar("T")

#: Modules whose frames say nothing about *which* task is stuck: the event loops, anyio, and
#: our own server. The first frame outside them names the culprit (a user's handler).
_LIBRARY_MODULES = ("anyio", "asyncio", "trio", "outcome", "sniffio", "contextlib", "pytest_wsmock")


class _LoopThread:
    """An event loop of one backend in a daemon thread, reached through a blocking portal.

    anyio's ``start_blocking_portal`` joins its thread with no timeout when it exits, so one
    task that ignores cancellation would hang the process at exit: the thread is ours instead,
    joined with a bound.
    """

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._ready: Future[anyio.from_thread.BlockingPortal] = Future()
        #: Runs a callback in the loop thread soon, from any thread, without waiting (set in
        #: the loop thread: asyncio's ``call_soon_threadsafe``, trio's ``run_sync_soon``).
        self._submit: Callable[[Callable[[], object]], object] | None = None
        self._group: anyio.abc.TaskGroup | None = None
        #: Set once the loop was asked to stop: nothing new is spawned.
        self.stopping = False
        # Where to look for stuck tasks at the end: set in the loop thread, read from outside.
        self._tasks: Callable[[], Iterable[Any]] = list
        self.thread = threading.Thread(
            target=self._run, name=f"{backend}-portal-{id(self):x}", daemon=True
        )

    def start(self) -> anyio.from_thread.BlockingPortal:
        self.thread.start()
        return self._ready.result()

    def _run(self) -> None:
        try:
            anyio.run(self._main, backend=self.backend)
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)

    async def _main(self) -> None:
        portal = anyio.from_thread.BlockingPortal()
        async with portal, anyio.create_task_group() as group:
            self._tasks = _task_lister(self.backend)
            self._submit = _submitter(self.backend)
            self._group = group
            self._ready.set_result(portal)
            await portal.sleep_until_stopped()
            group.cancel_scope.cancel()

    def spawn(self, fn: Callable[..., Awaitable[T]], *args: Any) -> Future[T]:
        """Start ``fn(*args)`` as a task of this loop and return at once (a portal's
        ``start_task_soon`` waits until the loop has started it: a round trip between the
        threads). The future holds its result or exception; cancelling the future cancels
        the task, and a task cancelled with the loop leaves its future cancelled.

        Raises:
            ServerError: the loop is stopping (the end of the test session).
        """
        self._ready.result()
        submit, group = self._submit, self._group
        assert submit is not None
        assert group is not None
        if self.stopping:
            raise ServerError(f"the {self.backend} event-loop thread is stopping")
        future: Future[T] = Future()

        def start() -> None:
            try:
                group.start_soon(_run_into, future, submit, fn, args)
            except RuntimeError as exc:  # the loop's task group has closed: it is stopping
                future.set_exception(
                    ServerError(f"the {self.backend} event-loop thread has stopped ({exc})")
                )

        submit(start)
        return future

    def request_stop(self) -> threading.Thread:
        """Ask the loop to cancel every remaining task and end, without waiting for it; the
        thread that asks is returned, so the caller can wait for it too."""
        portal = self._ready.result()
        self.stopping = True

        def stop() -> None:
            with contextlib.suppress(RuntimeError):  # already stopped
                portal.call(portal.stop, True)

        # portal.call blocks until the loop runs it, which a loop blocked in synchronous code
        # never does: ask from a daemon thread of its own, so that only that thread waits.
        asker = threading.Thread(target=stop, name=f"wsmock-stop-{self.backend}", daemon=True)
        asker.start()
        return asker

    def describe_stuck(self) -> str:
        """What still runs in this loop: the first non-library frame of every task, and of
        the thread's own stack (a handler blocking the loop in synchronous code)."""
        places: list[str] = []
        stacks: list[list[FrameType]] = []
        frame = sys._current_frames().get(self.thread.ident or -1)
        if frame is not None:
            stacks.append(list(_outward(frame))[::-1])
        for _ in range(3):
            # The tasks are read from outside their thread, so a set may change under us; and
            # this is a diagnostic on the way out, which must not fail the exit itself.
            try:
                stacks += [_awaited_frames(coro) for coro in self._tasks()]
                break
            except Exception:
                continue
        for stack in stacks:
            place = _culprit(stack)
            if place is not None and place not in places:
                places.append(place)
        return "; ".join(places) if places else "no task outside anyio and pytest-wsmock"


class _Portals:
    """One event-loop thread per anyio backend, shared by every server of the process.

    Starting a thread and an event loop costs milliseconds; a listener costs microseconds. So a
    per-test server is only a listener on a loop that lives as long as the test session.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loops: dict[str, tuple[_LoopThread, anyio.from_thread.BlockingPortal]] = {}

    def get(self, backend: str) -> anyio.from_thread.BlockingPortal:
        return self._loop(backend)[1]

    def spawn(self, backend: str, fn: Callable[..., Awaitable[T]], *args: Any) -> Future[T]:
        """Start ``fn(*args)`` in ``backend``'s loop thread without waiting (see
        `_LoopThread.spawn`)."""
        return self._loop(backend)[0].spawn(fn, *args)

    def _loop(self, backend: str) -> tuple[_LoopThread, anyio.from_thread.BlockingPortal]:
        with self._lock:
            if backend not in self._loops:
                loop = _LoopThread(backend)
                self._loops[backend] = (loop, loop.start())
            return self._loops[backend]

    def close_all(self, timeout: float = CLOSE_TIMEOUT) -> list[str]:
        """Stop every loop thread (at the end of the test session): cancel what still runs and
        wait at most ``timeout`` seconds in all.

        Returns:
            One line per thread that did not end in time, naming what kept running; those
            threads are left to die with the process.
        """
        with self._lock:
            loops, self._loops = self._loops, {}
        askers = [loop.request_stop() for loop, _ in loops.values()]
        deadline = time.monotonic() + timeout
        stuck = []
        for (loop, _), asker in zip(loops.values(), askers, strict=True):
            loop.thread.join(max(0.0, deadline - time.monotonic()))
            # The asking thread returns once the loop has run the stop: waited for too, so
            # that no thread of ours outlives the session (it ends soon after the loop).
            asker.join(max(0.0, deadline - time.monotonic()))
            if loop.thread.is_alive():
                stuck.append(
                    f"pytest-wsmock: the {loop.backend} event-loop thread did not stop within "
                    f"{timeout} s of being cancelled, so it was left running; still running "
                    f"(ignoring cancellation, or blocking the loop): {loop.describe_stuck()}"
                )
        return stuck


async def _run_into(
    future: Future[T],
    submit: Callable[[Callable[[], object]], object],
    fn: Callable[..., Awaitable[T]],
    args: tuple[Any, ...],
) -> None:
    """Run ``fn(*args)`` with its outcome in ``future`` (a spawned task of the loop)."""
    running = [True]

    def cancel_task(done: Future[T]) -> None:
        if done.cancelled() and running[0]:
            submit(scope.cancel)

    with anyio.CancelScope() as scope:
        if future.cancelled():
            return
        future.add_done_callback(cancel_task)
        try:
            result = await fn(*args)
        except Exception as exc:
            running[0] = False
            if not future.done():
                future.set_exception(exc)
            return
        except BaseException:  # cancelled (the future, or the loop's end): end as asked
            running[0] = False
            future.cancel()
            raise
        running[0] = False
        if not future.done():
            future.set_result(result)


def _submitter(backend: str) -> Callable[[Callable[[], object]], object]:
    """How other threads hand a callback to the running loop without waiting for it."""
    if backend == "trio":
        import trio

        return trio.lowlevel.current_trio_token().run_sync_soon
    import asyncio
    import contextvars

    loop = asyncio.get_running_loop()
    # A plain callback has no task for sniffio to recognise asyncio by, so it runs in a
    # context that names the library (as anyio's own thread calls do); without sniffio,
    # anyio takes a running asyncio loop for asyncio anyway.
    context = contextvars.copy_context()
    with contextlib.suppress(ImportError):
        import sniffio

        context.run(sniffio.current_async_library_cvar.set, "asyncio")
    return lambda callback: loop.call_soon_threadsafe(callback, context=context)


def _task_lister(backend: str) -> Callable[[], list[Any]]:
    """A function listing the coroutines of the running loop's tasks (called in the loop)."""
    if backend == "trio":
        import trio

        root = trio.lowlevel.current_root_task()

        def trio_tasks() -> list[Any]:
            found: list[Any] = []
            todo = [root] if root is not None else []
            while todo:
                task = todo.pop()
                found.append(task.coro)
                for nursery in list(task.child_nurseries):
                    todo.extend(nursery.child_tasks)
            return found

        return trio_tasks
    import asyncio

    loop = asyncio.get_running_loop()
    return lambda: [task.get_coro() for task in asyncio.all_tasks(loop)]


def _awaited_frames(coro: Any) -> list[FrameType]:
    """The frames of a suspended coroutine and of what it awaits, outermost first."""
    frames = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames


def _outward(frame: FrameType | None) -> Iterator[FrameType]:
    while frame is not None:
        yield frame
        frame = frame.f_back


def _culprit(stack: list[FrameType]) -> str | None:
    """The innermost frame outside the libraries, as ``function (file:line)``; None if all of
    the stack is library code (a task that only waits for its children, the idle loop)."""
    for frame in reversed(stack):
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".")[0] in _LIBRARY_MODULES or module in ("selectors", "threading"):
            continue
        code: CodeType = frame.f_code
        name = getattr(code, "co_qualname", code.co_name)  # co_qualname: Python 3.11+
        return f"{name} ({code.co_filename}:{frame.f_lineno})"
    return None


def _close_at_exit() -> None:
    # Outside pytest (a MockServer used as a context manager in a script) nothing else stops
    # the threads; under pytest, pytest_unconfigure already did and this finds none.
    for line in PORTALS.close_all():
        print(line, file=sys.stderr)


PORTALS = _Portals()
atexit.register(_close_at_exit)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host`` and listening: done here, in the caller's thread, rather
    than through anyio's listener factory, which resolves the address in a worker thread."""
    address = "127.0.0.1" if host == "localhost" else host
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {host} port {port}: {exc}") from exc
    return sock
