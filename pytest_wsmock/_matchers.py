"""Matching a client's message against what a test expects: values, JSON, regexes, predicates.

Shared by the ``expect_*`` steps and ``assert_received``.
"""

from __future__ import annotations

import re
from typing import Any

Matcher = Any  # a value, a compiled regex, or a predicate


def match_json(expected: Any, actual: Any, subset: bool) -> bool:
    """Whether JSON ``actual`` equals ``expected`` (or contains it, with ``subset``)."""
    if subset and isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and match_json(value, actual[key], subset)
            for key, value in expected.items()
        )
    if subset and isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(match_json(e, a, subset) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def matches(expected: Matcher, value: Any) -> bool:
    """Whether ``value`` satisfies ``expected``: equal to it, searched by it (a compiled
    regex, on text), or accepted by it (a callable)."""
    if isinstance(expected, re.Pattern):
        return (
            isinstance(value, (str, bytes))
            and type(value) is type(expected.pattern)
            and (expected.search(value) is not None)
        )
    if callable(expected) and not isinstance(expected, (str, bytes)):
        return bool(expected(value))
    return bool(expected == value)


def describe_matcher(expected: Matcher) -> str:
    """``'hello'``, ``re.compile('h.*')`` or ``<predicate is_hello>``."""
    if isinstance(expected, re.Pattern):
        return f"re.compile({expected.pattern!r})"
    if callable(expected) and not isinstance(expected, (str, bytes)):
        return f"<predicate {getattr(expected, '__name__', repr(expected))}>"
    return repr(expected)
