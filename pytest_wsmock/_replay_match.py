"""A stand-in for ``_cassette_match`` (issue 11, part B) so that replay can run before it lands.

TODO(cassette-match): delete this module once ``_cassette_match`` is on main; ``_replay.py``
then imports ``difference`` and ``check_rules`` from there (same signatures). This version is
deliberately small: exact comparison, ``MatchRules.replace`` substitutions on both sides,
``MatchRules.ignore`` paths of the forms ``$.a.b``, ``$.items[*].id``, ``$.a[0]`` and
``$['key']``, the first JSON difference, a unified diff for text, the first differing byte for
binary.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from ._cassette import CassetteMessage, Kind, MatchRules
from ._errors import ConfigError
from ._matchers import json_difference

_TOKEN = re.compile(r"\.([A-Za-z_][\w-]*)|\[\*\]|\[(\d+)\]|\['([^']*)'\]")
_STAR = object()


def _path_tokens(path: str) -> list[object] | None:
    """``$.a[*].b`` as ``["a", _STAR, "b"]``; ``None`` when it is not such a path."""
    if not path.startswith("$"):
        return None
    tokens: list[object] = []
    rest = path[1:]
    while rest:
        found = _TOKEN.match(rest)
        if found is None:
            return None
        name, index, quoted = found.groups()
        if name is not None:
            tokens.append(name)
        elif index is not None:
            tokens.append(int(index))
        elif quoted is not None:
            tokens.append(quoted)
        else:
            tokens.append(_STAR)
        rest = rest[found.end() :]
    return tokens or None


def check_rules(rules: MatchRules) -> MatchRules:
    """``rules`` when every ignore path and regex is valid; else a ``ConfigError`` naming it."""
    for path in rules.ignore:
        if not isinstance(path, str) or _path_tokens(path) is None:
            raise ConfigError(
                f"MatchRules.ignore: {path!r} is not a JSON path; write one like '$.id', "
                f"'$.params.ts' or '$.items[*].nonce'"
            )
    for pair in rules.replace:
        try:
            pattern, replacement = pair
            re.compile(pattern)
        except (TypeError, ValueError, re.error) as exc:
            raise ConfigError(
                f"MatchRules.replace: {pair!r} is not a (regex, replacement) pair ({exc}); "
                f"write one like (r'\"ts\":\\d+', '\"ts\":0')"
            ) from None
        if not isinstance(replacement, str):
            raise ConfigError(f"MatchRules.replace: the replacement in {pair!r} must be a str")
    return rules


def _drop(value: Any, tokens: list[object]) -> None:
    """Remove the values at ``tokens`` from ``value`` (in place)."""
    if not tokens:
        return
    head, rest = tokens[0], tokens[1:]
    if head is _STAR:
        children = value if isinstance(value, list) else []
        for child in children:
            _drop(child, rest)
        return
    if isinstance(value, dict) and isinstance(head, str) and head in value:
        if rest:
            _drop(value[head], rest)
        else:
            del value[head]
    elif isinstance(value, list) and isinstance(head, int) and head < len(value):
        if rest:
            _drop(value[head], rest)
        else:
            value[head] = None


def _text_diff(expected: str, received: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines() or [""],
        received.splitlines() or [""],
        "recorded",
        "received",
        n=1,
        lineterm="",
    )
    return "\n".join(lines)


def difference(
    recorded: CassetteMessage, received_kind: Kind, received: str | bytes, rules: MatchRules
) -> str | None:
    """``None`` when the received message matches the recorded one under ``rules``, else a
    readable explanation (one line, or a short diff)."""
    if recorded.kind != received_kind:
        return f"the recording has a {recorded.kind} message here, a {received_kind} one came"
    if isinstance(recorded.data, bytes) or isinstance(received, bytes):
        want = recorded.data if isinstance(recorded.data, bytes) else recorded.data.encode()
        got = received if isinstance(received, bytes) else received.encode()
        if want == got:
            return None
        offset = next(
            (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b),
            min(len(want), len(got)),
        )
        return (
            f"first differing byte at offset {offset} (recorded {len(want)} bytes, received "
            f"{len(got)} bytes)"
        )
    expected, actual = recorded.data, received
    for pattern, replacement in rules.replace:
        expected = re.sub(pattern, replacement, expected)
        actual = re.sub(pattern, replacement, actual)
    if expected == actual:
        return None
    try:
        want_json, got_json = json.loads(expected), json.loads(actual)
    except ValueError:
        return _text_diff(expected, actual)
    for path in rules.ignore:
        tokens = _path_tokens(path) or []
        _drop(want_json, tokens)
        _drop(got_json, tokens)
    if rules.ignore and want_json == got_json:
        return None  # with ignore paths, JSON is compared as values (formatting aside)
    where = json_difference(want_json, got_json, subset=False).removeprefix("; ")
    if where:
        return where
    return "the same JSON, written differently:\n" + _text_diff(expected, actual)


__all__ = ["check_rules", "difference"]
