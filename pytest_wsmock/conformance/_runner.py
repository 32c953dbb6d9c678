"""Running an adapter's calls, every one bounded.

Each call gets the client's own timeout; the kit adds :data:`MARGIN` and stops the call after
that (async adapters: ``anyio.move_on_after``; sync adapters run in a worker thread that is
abandoned). The whole case runs in a thread of its own joined with a deadline that moves with
each call (:func:`run_bounded`): an async adapter that blocks its event loop cannot hang the
test run either. Whatever hangs, the server ends the connection (``stop``), never the run.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from ._adapter import AdapterError, AnyClient, backend_of, hung_exception, is_async
from ._verdict import Observed

T = TypeVar("T")

#: What a ``receive`` raises when nothing came (``asyncio.TimeoutError`` is another class
#: before Python 3.11).
TIMEOUTS = (TimeoutError, asyncio.TimeoutError)

#: Seconds a call may run past the client's own timeout before the kit stops it ("hung").
MARGIN = 2.0

#: Seconds the kit waits past an adapter's own ``margin``.
SLACK = 1.0

#: Seconds past that before the case's thread counts as hung for good (an async adapter that
#: blocks its event loop, or ignores cancellation).
HARD_MARGIN = 3.0

#: Seconds a case's thread gets to finish after the server was stopped under a hung client.
RELEASE = 5.0


class Calls:
    """The adapter's calls as the scenarios make them: bounded, and sorted into what
    :class:`Observed` records (a failure, nothing came, hung) or an :class:`AdapterError`."""

    def __init__(
        self, client: AnyClient, timeout: float, observed: Observed, stop: Callable[[], None]
    ) -> None:
        self.client = client
        self.stop = stop
        self.timeout = timeout
        self.observed = observed
        self.is_async = is_async(client)
        self.failures = tuple(client.failures)
        #: Seconds past a call's own timeout before it counts as hung. An adapter that bounds
        #: its calls itself says by how much with ``margin`` (a ``DriverClient``: 5 s); the
        #: kit then waits :data:`SLACK` longer, so that the adapter's own report comes first.
        own = getattr(client, "margin", None)
        self.margin = MARGIN if own is None else float(own) + SLACK
        #: When the current call counts as hung for good (read by the watching thread).
        self.deadline = time.monotonic() + timeout + self.margin + HARD_MARGIN
        self.lock = threading.Lock()
        #: The call being made (named in a ``hung`` verdict).
        self.current = "connect"

    def arm(self, where: str, seconds: float | None = None) -> None:
        """Start the hard deadline of a call named ``where`` whose own timeout is ``seconds``
        (the client's timeout by default)."""
        seconds = self.timeout if seconds is None else seconds
        with self.lock:
            self.current = where
            self.deadline = time.monotonic() + seconds + self.margin + HARD_MARGIN

    async def call(
        self, where: str, seconds: float, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Call ``fn``, whose own timeout is ``seconds``; return its result, or ``None`` after
        recording why there is none (:attr:`observed` says: ``error``, ``timed_out`` or
        ``hung``, with ``where``)."""
        self.arm(where, seconds)
        outcome: BaseException | None = None
        value: Any = None
        with anyio.move_on_after(seconds + self.margin) as scope:
            try:
                if self.is_async:
                    value = await fn(*args, **kwargs)
                else:
                    bound = functools.partial(fn, *args, **kwargs)
                    value = await anyio.to_thread.run_sync(bound, abandon_on_cancel=True)
            except Exception as exc:  # cancellation is a BaseException: the scope gets it
                outcome = exc
        observed = self.observed
        if scope.cancelled_caught or (outcome is not None and hung_exception(outcome)):
            observed.hung, observed.where = True, where
            return None
        if outcome is None:
            return value
        if where == "receive" and isinstance(outcome, TIMEOUTS):
            observed.timed_out = True
            return None
        if isinstance(outcome, self.failures) or (
            where == "connect" and isinstance(outcome, TIMEOUTS)
        ):
            observed.error, observed.where = outcome, where
            return None
        raise AdapterError(
            f"adapter {self.client.name}: {where} raised {type(outcome).__module__}."
            f"{type(outcome).__qualname__}: {outcome}, which is not in its failures "
            f"{tuple(f.__name__ for f in self.failures)}: add it there if it is how the client "
            f"reports a failure"
        ) from outcome

    async def cleanup_close(self, session: Any) -> None:
        """Close ``session`` at the end of a case: bounded, and whatever it raises ignored
        (the verdict is made; a client that fails to close is not judged here)."""
        self.arm("close")
        with anyio.move_on_after(self.timeout + self.margin):
            try:
                if self.is_async:
                    await session.close()
                else:
                    await anyio.to_thread.run_sync(session.close, abandon_on_cancel=True)
            except Exception:
                pass

    async def release(self) -> None:
        """Stop the server, which ends the connection of a client that hung."""
        self.arm("close")
        await anyio.to_thread.run_sync(self.stop)


def run_bounded(
    client: AnyClient,
    timeout: float,
    play: Callable[[Calls], Awaitable[None]],
    stop: Callable[[], None],
) -> Observed:
    """Run ``play`` on the adapter's event loop in a thread of its own, and return what it
    observed. When a call outlives its hard deadline, ``stop`` (the server) ends the
    connection and the result says ``hung``."""
    observed = Observed()
    calls = Calls(client, timeout, observed, stop)
    errors: list[BaseException] = []

    def main() -> None:
        try:
            anyio.run(play, calls, backend=backend_of(client))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=main, name=f"wsmock-conformance-{client.name}", daemon=True)
    thread.start()
    while thread.is_alive():
        with calls.lock:
            remaining = calls.deadline - time.monotonic()
        if remaining <= 0:
            if not observed.hung:  # else the call that hung first is named already
                observed.hung = True
                with calls.lock:
                    observed.where = calls.current
            stop()
            thread.join(RELEASE)
            return observed
        thread.join(remaining)
    if errors:
        raise errors[0]
    return observed
