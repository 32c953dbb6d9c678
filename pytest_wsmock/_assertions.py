"""Assertion helpers on connection records, and readable comparisons for pytest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ._errors import RecordMismatch as RecordMismatch
from ._matchers import check_message, describe_matcher
from ._preview import show_data
from ._protocol import Violation
from ._records import CloseInfo, Frame, Message


class Recorded(Protocol):
    """What the assertions read of a connection record."""

    @property
    def label(self) -> str: ...
    @property
    def received(self) -> list[Message]: ...
    @property
    def violations(self) -> list[Violation]: ...
    def last_frames(self, count: int = 6) -> str: ...


class _Any:
    def __repr__(self) -> str:
        return "ANY"


#: Leave a field of ``assert_closed`` unchecked (its default).
ANY: Any = _Any()


def assert_received(conn: Recorded, expected: Sequence[Any], *, subset: bool, prefix: bool) -> None:
    """Compare the client's messages with ``expected``, one to one, in order."""
    __tracebackhide__ = True
    received = conn.received
    lines: list[str] = []
    bad = False
    for index, want in enumerate(expected):
        if index >= len(received):
            lines.append(f"  #{index} MISSING     expected {describe_matcher(want)}")
            bad = True
            continue
        why = check_message(want, received[index], subset=subset)
        if why is None:
            message = received[index]
            lines.append(f"  #{index} ok          {show_data(message.data, message.is_text)}")
        else:
            lines.append(f"  #{index} MISMATCH    {why}")
            bad = True
    extra = received[len(expected) :]
    if extra and not prefix:
        bad = True
        lines += [
            f"  #{len(expected) + i} UNEXPECTED  {message!r}" for i, message in enumerate(extra)
        ]
    if bad:
        raise RecordMismatch(
            f"{conn.label}: the client's messages do not match (expected {len(expected)}, "
            f"got {len(received)}):\n" + "\n".join(lines) + "\n  " + conn.last_frames()
        )


def assert_closed(conn: Recorded, info: CloseInfo, checks: dict[str, Any]) -> None:
    """Compare the fields of ``info`` named in ``checks`` (ANY values are skipped)."""
    __tracebackhide__ = True
    wrong = [
        f"  {name}: expected {want!r}, got {getattr(info, name)!r}"
        for name, want in checks.items()
        if want is not ANY and getattr(info, name) != want
    ]
    if wrong:
        raise RecordMismatch(
            f"{conn.label} did not close as expected ({info}):\n"
            + "\n".join(wrong)
            + "\n  "
            + conn.last_frames()
        )


# -- pytest_assertrepr_compare ------------------------------------------------------------------

_RECORDS = (Message, Frame, CloseInfo)


def _is_record_list(value: object) -> bool:
    return isinstance(value, (list, tuple)) and any(isinstance(v, _RECORDS) for v in value)


def _hint(left: object, right: object) -> str | None:
    pairs = ((left, right), (right, left))
    for a, b in pairs:
        if isinstance(a, Message) and isinstance(b, (str, bytes)):
            return (
                "a Message never equals str or bytes: compare message.value, or use "
                "conn.received_values / conn.received_texts"
            )
    return None


def compare(op: str, left: object, right: object) -> list[str] | None:
    """Readable explanation lines for ``left == right`` when records are involved."""
    if op != "==":
        return None
    if isinstance(left, CloseInfo) and isinstance(right, CloseInfo):
        lines = ["CloseInfo records differ:"]
        for name in CloseInfo.__dataclass_fields__:
            a, b = getattr(left, name), getattr(right, name)
            if a != b:
                lines.append(f"  {name}: {a!r} != {b!r}")
        return lines
    if _is_record_list(left) or _is_record_list(right):
        lhs = list(left) if isinstance(left, (list, tuple)) else [left]
        rhs = list(right) if isinstance(right, (list, tuple)) else [right]
        lines = [f"record lists differ ({len(lhs)} vs {len(rhs)} items):"]
        hint = None
        for index in range(max(len(lhs), len(rhs))):
            a = repr(lhs[index]) if index < len(lhs) else "(missing)"
            b = repr(rhs[index]) if index < len(rhs) else "(missing)"
            same = index < len(lhs) and index < len(rhs) and lhs[index] == rhs[index]
            lines.append(f"  #{index} {'==' if same else '!='} {a}  vs  {b}")
            if hint is None and index < len(lhs) and index < len(rhs):
                hint = _hint(lhs[index], rhs[index])
        if hint:
            lines.append(f"hint: {hint}")
        return lines
    if isinstance(left, _RECORDS) or isinstance(right, _RECORDS):
        lines = [f"{left!r} != {right!r}"]
        hint = _hint(left, right)
        if hint:
            lines.append(f"hint: {hint}")
        return lines
    return None


def assert_no_violations(conn: Recorded) -> None:
    """Raise when the client broke a rule on ``conn``."""
    __tracebackhide__ = True
    violations = conn.violations
    if violations:
        raise RecordMismatch(
            f"{conn.label}: the client broke {len(violations)} rule(s):\n"
            + "\n".join(f"  {v}" for v in violations)
        )
