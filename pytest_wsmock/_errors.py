"""The exception tree of pytest-wsmock: every error derives from :class:`WsmockError`.

::

    WsmockError
     ├── ConfigError (+ ValueError)          bad option from the test author
     ├── WaitTimeout (+ AssertionError, TimeoutError)
     │                                       a wait ended before what it awaited happened
     ├── ClientViolationError (+ AssertionError)
     │                                       the client under test broke the protocol (strict mode)
     ├── ScriptError (+ AssertionError)      a script's expectation failed, or it did not finish
     ├── RecordMismatch (+ AssertionError)   an assertion helper found the record different
     ├── ServerError                         a handler raised, or the server failed internally
     ├── ConnectionClosed                    a handler used a connection that has ended
     ├── UpstreamError                       the proxy's upstream could not be opened
     └── BlockingCallError (+ RuntimeError)  a blocking wait was called in an event loop

The conformance kit's errors (``pytest_wsmock.conformance``) join the same tree:
``PinFileError`` is a ``ConfigError``; ``ClientHung`` (and ``DriverHung``, one of them),
``AdapterError``, ``DriverFailure`` and ``DriverError`` (+ RuntimeError) derive from
``WsmockError``.

Every class says ``__module__ = "pytest_wsmock"``: tracebacks, pytest's ``E   ...`` lines and
``repr(type)`` then show the name users import (``pytest_wsmock.ScriptError``), not this
private module, and pickle finds the class there too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._preview import SEE_TRANSCRIPT, without_frames

if TYPE_CHECKING:
    from ._protocol import Violation


class WsmockError(Exception):
    """Base class of every exception that pytest-wsmock raises.

    Attributes:
        transcript_shown: set by the pytest plugin when the report it is part of shows the
            ``wsmock transcript`` section: the message then points to the transcript instead
            of listing the last frames seen a second time. Off everywhere else, so the
            message read in code, or outside pytest, lists them.
    """

    __module__ = "pytest_wsmock"
    transcript_shown = False

    def __str__(self) -> str:
        text = super().__str__()
        return without_frames(text, SEE_TRANSCRIPT) if self.transcript_shown else text


class ConfigError(WsmockError, ValueError):
    """An option given to a fixture, the ``wsmock`` marker or an ini key is not valid."""

    __module__ = "pytest_wsmock"


class WaitTimeout(WsmockError, AssertionError, TimeoutError):
    """A wait ran out of time.

    The message says what was awaited, for how long, and what happened instead.
    It is an :class:`AssertionError` so pytest reports it as a test failure.
    """

    __module__ = "pytest_wsmock"


class ClientViolationError(WsmockError, AssertionError):
    """The client under test broke the WebSocket protocol while strict mode was on.

    Attributes:
        violations: ``(connection label, Violation)`` pairs, in the order they happened.
    """

    __module__ = "pytest_wsmock"

    def __init__(self, violations: Sequence[tuple[str, Violation]]) -> None:
        self.violations = tuple(violations)
        super().__init__(self._text())

    def _text(self) -> str:
        lines = [
            f"the client under test broke the WebSocket protocol "
            f"({len(self.violations)} violation{'s' if len(self.violations) != 1 else ''}):"
        ]
        lines += [f"  {label}: {violation}" for label, violation in self.violations]
        kinds = ", ".join(repr(kind) for kind in dict.fromkeys(v.kind for _, v in self.violations))
        lines.append(
            f"(to allow this, pass allow=[{kinds}] or strict=False to the wsmock marker or "
            f"the factory)"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._text()

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce would call ``cls(message)``, which is not a violations list.
        return (type(self), (self.violations,), self.__dict__)


class ScriptError(WsmockError, AssertionError):
    """A script step's expectation was not met, or a script did not finish by teardown.

    The message names the connection, the step, what was expected and what came instead,
    and the last frames seen.
    """

    __module__ = "pytest_wsmock"


class RecordMismatch(WsmockError, AssertionError):
    """An assertion helper (``assert_received``, ``assert_closed``, ...) found the record
    different from what the test expected. The message shows both, item by item."""

    __module__ = "pytest_wsmock"


class ServerError(WsmockError):
    """A handler raised an exception, or the mock server failed; raised at teardown."""

    __module__ = "pytest_wsmock"


class ConnectionClosed(WsmockError):
    """A handler, a step or the test tried to receive from or send on a connection that has
    ended (or is closing: nothing is sent after a close frame).

    Attributes:
        label: the connection, e.g. ``connection #0 (GET /)``.
        action: what was tried, e.g. ``send TEXT`` (empty when it was only waiting).
        state: the connection's state then, e.g. ``close-received``.
        code: the close code the client sent, or ``None`` when it sent none.
        reason: the close reason the client sent.
    """

    __module__ = "pytest_wsmock"

    def __init__(
        self,
        label: str,
        action: str = "",
        state: str = "closed",
        code: int | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(label, action, state, code, reason)
        self.label = label
        self.action = action
        self.state = state
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        text = f"cannot {self.action} on {self.label}" if self.action else self.label
        text += f": it is {self.state}"
        if self.code is not None:
            text += f"; the client sent close {self.code}" + (
                f" {self.reason!r}" if self.reason else ""
            )
        return text


class BlockingCallError(WsmockError, RuntimeError):
    """A blocking wait or assertion (``conn.assert_received()``, ``server.close_all()``...)
    was called from a thread that runs an event loop (an ``async def`` test, a handler).

    It would block the loop, and with it a client running in that loop, which could then
    only make the wait time out. It is raised at once, before waiting, even when the wait
    would have returned at once, so that the outcome never depends on timing. The message
    names the awaitable form to use instead.

    Attributes:
        call: what was called, e.g. ``conn.assert_received()``.
        instead: the awaitable form, e.g. ``await conn.assert_received_async()``.
    """

    __module__ = "pytest_wsmock"

    def __init__(self, call: str, instead: str) -> None:
        super().__init__(call, instead)
        self.call = call
        self.instead = instead

    def __str__(self) -> str:
        return (
            f"{self.call} blocks, and it was called from a thread that runs an event loop "
            f"(an async test or a handler), which it would block: use `{self.instead}` instead"
        )
