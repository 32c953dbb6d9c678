"""Replay's comparison of a client's message with the recorded one, under the cassette's
:class:`~pytest_wsmock._cassette.MatchRules`.

:func:`difference` is ``None`` when they match, else an explanation a reader can act on:

- the kinds differ (text against binary);
- both are JSON (after the ``replace`` rules): with ``ignore`` paths, they are compared as
  JSON values, so key order and whitespace do not matter, ``true`` is not ``1``, and values
  at the ``ignore`` paths are not compared (nor whether they are there at all); without
  them, the texts must be equal (exact by default), and the same value written differently
  is explained as such; the explanation names the first differing path with both values;
- text: after the ``replace`` rules (``re.sub`` on both), the texts must be equal; the
  explanation is a short unified diff of recorded against received;
- binary: the first differing byte offset, both lengths, and the bytes around it.

JSON paths: ``$`` is the message; ``.name`` or ``['name']`` / ``["name"]`` a key (the
bracket form for keys with spaces or dots); ``[2]`` an array item; ``[*]`` or ``.*`` any key
or item. ``$.items[*].id`` ignores the ``id`` of every item.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from typing import Any

from ._cassette import CassetteMessage, Kind, MatchRules
from ._errors import ConfigError
from ._preview import clean, show_bytes, show_text

#: One step of a JSON path: a key, an array index, or ``None`` for any key or item.
Segment = str | int | None
#: A parsed JSON path, without the leading ``$``.
JsonPath = tuple[Segment, ...]

_EXAMPLES = "$.id, $.params.ts, $.items[*].nonce or $['key with space']"
_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]'"\s]+)"""
    r"""|\[(?:(?P<index>\d+)|(?P<star>\*)"""
    r"""|'(?P<single>(?:[^'\\]|\\.)*)'|"(?P<double>(?:[^"\\]|\\.)*)")\]"""
)
#: Lines of a text diff shown at most; characters of a line shown around a difference.
DIFF_LINES = 30
LINE_WIDTH = 160


def parse_path(path: str) -> JsonPath:
    """``$.items[*].id`` as ``("items", None, "id")``; ``ConfigError`` when it is no path."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise ConfigError(
            f"match rule ignore path {path!r} is not a JSON path: it must start with $ "
            f"(like {_EXAMPLES})"
        )
    steps: list[Segment] = []
    position = 1
    while position < len(path):
        found = _STEP.match(path, position)
        if found is None:
            raise ConfigError(
                f"match rule ignore path {path!r} is not a JSON path: cannot read it from "
                f"character {position} ({path[position:]!r}); write paths like {_EXAMPLES}"
            )
        if found["name"] is not None:
            steps.append(None if found["name"] == "*" else found["name"])
        elif found["index"] is not None:
            steps.append(int(found["index"]))
        elif found["star"] is not None:
            steps.append(None)
        else:
            quoted = found["single"] if found["single"] is not None else found["double"]
            steps.append(re.sub(r"\\(.)", r"\1", quoted))
        position = found.end()
    return tuple(steps)


def _check_pairs(replace: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(replace, (str, bytes)) or not isinstance(replace, (tuple, list)):
        raise ConfigError(
            f"match rule replace must be a list of (regex, replacement) pairs, got "
            f"{replace!r}; e.g. replace=[(r'\"ts\":\\d+', '\"ts\":0')]"
        )
    pairs = []
    for pair in replace:
        if not (
            isinstance(pair, (tuple, list))
            and len(pair) == 2
            and all(isinstance(part, str) for part in pair)
        ):
            raise ConfigError(
                f"match rule replace item {pair!r} is not a (regex, replacement) pair of "
                f"strings; e.g. (r'\"ts\":\\d+', '\"ts\":0')"
            )
        pattern, replacement = pair
        try:
            re.compile(pattern).sub(replacement, "")  # checks the replacement's groups too
        except re.error as exc:
            raise ConfigError(
                f"match rule replace ({pattern!r}, {replacement!r}) is not valid: {exc}; "
                f"e.g. (r'\"ts\":\\d+', '\"ts\":0') or (r'id=(\\w+)', r'id=<\\1>')"
            ) from None
        pairs.append((pattern, replacement))
    return tuple(pairs)


def check_rules(rules: MatchRules) -> MatchRules:
    """``rules`` with lists made tuples, once every ignore path and regex is known to be
    valid; else ``ConfigError`` naming the bad one, with an example of a good one."""
    ignore: Any = rules.ignore
    if isinstance(ignore, (str, bytes)) or not isinstance(ignore, (tuple, list)):
        raise ConfigError(
            f"match rule ignore must be a list of JSON paths, got {ignore!r}; "
            f"e.g. ignore=['$.id', '$.items[*].nonce']"
        )
    for path in ignore:
        parse_path(path)
    return MatchRules(ignore=tuple(ignore), replace=_check_pairs(rules.replace))


@functools.lru_cache(maxsize=64)
def _compiled(
    rules: MatchRules,
) -> tuple[tuple[JsonPath, ...], tuple[tuple[re.Pattern[str], str], ...]]:
    checked = check_rules(rules)
    return (
        tuple(parse_path(path) for path in checked.ignore),
        tuple((re.compile(pattern), replacement) for pattern, replacement in checked.replace),
    )


def format_path(path: tuple[str | int, ...]) -> str:
    """``("items", 2, "a b")`` as ``$.items[2]['a b']``."""
    out = "$"
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step.isidentifier():
            out += f".{step}"
        else:
            out += "[" + repr(step) + "]"
    return out


def _ignored(path: tuple[str | int, ...], patterns: tuple[JsonPath, ...]) -> bool:
    return any(
        len(pattern) == len(path)
        and all(
            want is None or (type(want) is type(step) and want == step)
            for want, step in zip(pattern, path, strict=True)
        )
        for pattern in patterns
    )


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _show_json(value: Any, width: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return clean(text if len(text) <= width else text[: width - 3] + "...")


def json_difference(
    recorded: Any,
    received: Any,
    patterns: tuple[JsonPath, ...] = (),
    path: tuple[str | int, ...] = (),
) -> str | None:
    """Where JSON ``received`` first differs from ``recorded``, skipping the ``patterns``
    (parsed ignore paths), or ``None``. Types are strict: ``true`` is not ``1``."""
    if _ignored(path, patterns):
        return None
    where = format_path(path)
    if _json_kind(recorded) != _json_kind(received):
        return f"at {where}: recorded {_show_json(recorded)}, received {_show_json(received)}"
    if isinstance(recorded, dict):
        for key, value in recorded.items():
            if key not in received:
                if _ignored((*path, key), patterns):
                    continue
                return f"at {where}: key {key!r} is missing (recorded {_show_json(value)})"
            found = json_difference(value, received[key], patterns, (*path, key))
            if found:
                return found
        for key, value in received.items():
            if key not in recorded and not _ignored((*path, key), patterns):
                return f"at {where}: unexpected key {key!r} (received {_show_json(value)})"
        return None
    if isinstance(recorded, list):
        for index, (want, got) in enumerate(zip(recorded, received, strict=False)):
            found = json_difference(want, got, patterns, (*path, index))
            if found:
                return found
        if len(recorded) != len(received):
            return f"at {where}: recorded {len(recorded)} item(s), received {len(received)}"
        return None
    if recorded != received:
        return f"at {where}: recorded {_show_json(recorded)}, received {_show_json(received)}"
    return None


def _as_json(text: str) -> tuple[bool, Any]:
    if not text or text.lstrip()[:1] not in tuple('{["-0123456789tfn'):
        return False, None
    try:
        return True, json.loads(text, parse_constant=_no_constant)
    except ValueError:
        return False, None


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _first_change(left: str | bytes, right: str | bytes) -> int:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


def _cut_line(line: str, around: int) -> str:
    start = max(0, min(around - LINE_WIDTH // 4, len(line) - LINE_WIDTH))
    shown = line[start : start + LINE_WIDTH]
    return clean(
        ("..." if start else "") + shown + ("..." if start + LINE_WIDTH < len(line) else "")
    )


def text_difference(recorded: str, received: str, *, replaced: bool = False) -> str:
    """A short unified diff of two different texts, starting with where they first differ."""
    offset = _first_change(recorded, received)
    line_start = recorded.rfind("\n", 0, offset) + 1
    column = offset - line_start
    diff = list(
        difflib.unified_diff(
            recorded.splitlines(),
            received.splitlines(),
            "recorded",
            "received",
            n=1,
            lineterm="",
        )
    )
    if not diff:  # only a trailing newline differs
        diff = ["--- recorded", "+++ received", f"-{recorded!r}", f"+{received!r}"]
    body = [
        line if line.startswith(("---", "+++", "@@")) else line[0] + _cut_line(line[1:], column)
        for line in diff
    ]
    if len(body) > DIFF_LINES:
        body = [*body[:DIFF_LINES], f"... ({len(body) - DIFF_LINES} more diff lines)"]
    after = " (after the replace rules)" if replaced else ""
    return f"text differs at character {offset}{after}:\n" + "\n".join(body)


def binary_difference(recorded: bytes, received: bytes) -> str:
    """Where two different byte strings first differ, with the bytes there."""
    offset = _first_change(recorded, received)
    start = max(0, offset - 4)
    return (
        f"binary data differs at byte {offset} (recorded {len(recorded)} bytes, received "
        f"{len(received)} bytes): from byte {start}, recorded "
        f"{show_bytes(recorded[start : start + 16], 0)}, received "
        f"{show_bytes(received[start : start + 16], 0)}"
    )


def difference(
    recorded: CassetteMessage,
    received_kind: Kind,
    received: str | bytes,
    rules: MatchRules,
) -> str | None:
    """``None`` when the client's message (``received_kind``, ``received``) matches the
    ``recorded`` one under ``rules``, else why not (see the module docstring)."""
    if recorded.kind != received_kind:
        shown = show_text(received) if isinstance(received, str) else show_bytes(received)
        return f"expected a {recorded.kind} message, received a {received_kind} message {shown}"
    if received_kind == "binary":
        want = recorded.data if isinstance(recorded.data, bytes) else recorded.data.encode()
        got = received if isinstance(received, bytes) else received.encode()
        return None if want == got else binary_difference(want, got)
    try:
        patterns, substitutions = _compiled(rules)
    except TypeError:  # lists in the rules: not hashable, so not cached
        patterns, substitutions = _compiled(check_rules(rules))
    want_text = recorded.data if isinstance(recorded.data, str) else recorded.data.decode()
    got_text = received if isinstance(received, str) else received.decode()
    for pattern, replacement in substitutions:
        want_text = pattern.sub(replacement, want_text)
        got_text = pattern.sub(replacement, got_text)
    want_is_json, want_value = _as_json(want_text)
    got_is_json, got_value = _as_json(got_text)
    if want_is_json and got_is_json:
        found = json_difference(want_value, got_value, patterns)
        if found is None:
            if patterns or want_text == got_text:
                return None
            # Exact by default: the same value written differently is a difference too.
            return "the same JSON value, written differently\n" + text_difference(
                want_text, got_text, replaced=bool(substitutions)
            )
        return (
            f"JSON differs {found}\n  recorded: {_show_json(want_value, 200)}\n"
            f"  received: {_show_json(got_value, 200)}"
        )
    if want_text == got_text:
        return None
    return text_difference(want_text, got_text, replaced=bool(substitutions))


__all__ = [
    "DIFF_LINES",
    "JsonPath",
    "LINE_WIDTH",
    "Segment",
    "binary_difference",
    "check_rules",
    "difference",
    "format_path",
    "json_difference",
    "parse_path",
    "text_difference",
]
