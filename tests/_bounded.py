"""What the client-matrix suites (handshake, violations, faults) share: running a client under
a hard time bound, and naming the exceptions clients raise."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ClientHung(AssertionError):
    """A client was still busy after its own timeouts plus a margin."""


def bounded(name: str, fn: Callable[[], T], limit: float, doing: str = "busy") -> T:
    """Run ``fn`` in a daemon thread; raise :class:`ClientHung` if it runs longer than ``limit``.

    Exceptions ``fn`` raises are raised here. ``doing`` completes the message: "``name`` was
    still ``doing`` after ``limit`` s".
    """
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=run, name=f"bounded-client-{name}", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise ClientHung(
            f"{name} was still {doing} after {limit} s, although its own timeouts were set: "
            f"it ignores them here"
        )
    if error:
        raise error[0]
    return result[0]


def exception_name(exc: BaseException, home: str) -> str:
    """The class name for the client's own exceptions (package ``home``) and builtins, e.g.
    ``InvalidStatus``; ``package.Name`` for another package's, e.g. ``httpx.ReadTimeout``."""
    cls = type(exc)
    package = cls.__module__.split(".")[0]
    if package in (home, "builtins"):
        return cls.__name__
    return f"{package}.{cls.__name__}"
