"""Matching a client's message against what a test expects: values, JSON, regexes, predicates.

Shared by the ``expect_*`` steps and ``assert_received``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._records import Message, preview

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


def _kind_for(expected: Any) -> str:
    """How ``assert_received`` reads a bare value: JSON for dicts and lists, text for ``str``,
    binary for ``bytes``, anything else matched against the value."""
    if isinstance(expected, (dict, list)):
        return "json"
    if isinstance(expected, str):
        return "text"
    if isinstance(expected, bytes):
        return "binary"
    return "message"


def check_message(
    expected: Any, message: Message, *, kind: str = "auto", subset: bool = False
) -> str | None:
    """``None`` when ``message`` satisfies ``expected``, else why not (one line).

    Args:
        expected: a value, a compiled regex, a predicate, or (``kind="json"``) a JSON value.
        message: the client's message.
        kind: ``text``, ``binary``, ``json``, ``message`` (text or binary), or ``auto``: as
            ``assert_received`` reads a bare value.
        subset: JSON dicts need only contain the expected keys.
    """
    if kind == "auto":
        kind = _kind_for(expected)
    got = f"got {'text' if message.is_text else 'binary'} {preview(message.data, 120)}"
    if kind == "text":
        if not message.is_text:
            return f"expected a text message, {got}"
        ok = matches(expected, message.text)
    elif kind == "binary":
        if message.is_text:
            return f"expected a binary message, {got}"
        ok = matches(expected, message.data)
    elif kind == "json":
        if not message.is_text:
            return f"expected a JSON text message, {got}"
        try:
            value = json.loads(message.text)
        except ValueError as exc:
            return f"expected JSON, {got}, which is not JSON ({exc})"
        ok = bool(expected(value)) if callable(expected) else match_json(expected, value, subset)
        if not ok:
            how = "containing" if subset else "equal to"
            return f"expected JSON {how} {describe_matcher(expected)}, got JSON {value!r}"
        return None
    else:
        ok = matches(expected, message.value)
    return None if ok else f"expected {describe_matcher(expected)}, {got}"
