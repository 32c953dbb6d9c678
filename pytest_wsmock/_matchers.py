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


def json_difference(expected: Any, actual: Any, subset: bool, path: str = "$") -> str:
    """Where JSON ``actual`` first differs from ``expected``, as ``; first difference at
    $.a.b[2]: expected 1, got 2`` (empty when they match), so a reader need not compare two
    long values by eye."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            if key not in actual:
                return f"; first difference at {path}: key {key!r} is missing"
            found = json_difference(value, actual[key], subset, f"{path}.{key}")
            if found:
                return found
        extra = [key for key in actual if key not in expected]
        if extra and not subset:
            return f"; first difference at {path}: unexpected key {extra[0]!r}"
        return ""
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
            found = json_difference(want, got, subset, f"{path}[{index}]")
            if found:
                return found
        if len(expected) != len(actual):
            return (
                f"; first difference at {path}: {len(expected)} item(s) expected, "
                f"{len(actual)} came"
            )
        return ""
    if match_json(expected, actual, subset):
        return ""
    return f"; first difference at {path}: expected {expected!r}, got {actual!r}"


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
    expected: Any,
    message: Message,
    *,
    kind: str = "auto",
    subset: bool = False,
    restate: bool = True,
) -> str | None:
    """``None`` when ``message`` satisfies ``expected``, else why not (one line).

    Args:
        expected: a value, a compiled regex, a predicate, or (``kind="json"``) a JSON value.
        message: the client's message.
        kind: ``text``, ``binary``, ``json``, ``message`` (text or binary), or ``auto``: as
            ``assert_received`` reads a bare value.
        subset: JSON dicts need only contain the expected keys.
        restate: repeat the expected JSON value in the answer; a step, whose description
            already shows it, says only what came and where it first differs.
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
            where = "" if callable(expected) else json_difference(expected, value, subset)
            if not restate and not callable(expected):
                return f"got JSON {value!r}{where}"
            return f"expected JSON {how} {describe_matcher(expected)}, got JSON {value!r}{where}"
        return None
    else:
        ok = matches(expected, message.value)
    return None if ok else f"expected {describe_matcher(expected)}, {got}"
