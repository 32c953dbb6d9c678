"""Replay's matching: each rule, and each explanation."""

from __future__ import annotations

import pytest

from pytest_wsmock._cassette import CassetteMessage, MatchRules
from pytest_wsmock._cassette_match import (
    DIFF_LINES,
    check_rules,
    difference,
    format_path,
    parse_path,
)
from pytest_wsmock._errors import ConfigError

EXACT = MatchRules()


def text(data: str) -> CassetteMessage:
    return CassetteMessage("client", "text", data, 0.0)


def binary(data: bytes) -> CassetteMessage:
    return CassetteMessage("client", "binary", data, 0.0)


def test_equal_messages_match() -> None:
    assert difference(text("hello"), "text", "hello", EXACT) is None
    assert difference(binary(b"\x00\x01"), "binary", b"\x00\x01", EXACT) is None
    assert difference(text(""), "text", "", EXACT) is None


def test_kind_differs() -> None:
    found = difference(text("hello"), "binary", b"hello", EXACT)
    assert found == "expected a text message, received a binary message b'hello'"
    found = difference(binary(b"\x01"), "text", "hi", EXACT)
    assert found == "expected a binary message, received a text message 'hi'"


def test_json_is_exact_by_default_and_compared_by_value_under_ignore_rules() -> None:
    """Without ignore paths the text must be equal (the same value written differently is
    said to be that); with them, key order and whitespace do not matter."""
    recorded = text('{"op":"sub","args":[1,2]}')
    why = difference(recorded, "text", '{ "args": [1, 2], "op": "sub" }', EXACT)
    assert why is not None
    assert why.startswith("the same JSON value, written differently\n")
    by_value = MatchRules(ignore=("$.id",))
    assert difference(recorded, "text", '{ "args": [1, 2], "op": "sub" }', by_value) is None


def test_json_first_difference_with_both_values() -> None:
    recorded = text('{"op":"sub","args":[{"id":1,"sym":"BTC"}]}')
    found = difference(recorded, "text", '{"op":"sub","args":[{"id":1,"sym":"ETH"}]}', EXACT)
    assert found is not None
    first, *rest = found.splitlines()
    assert first == 'JSON differs at $.args[0].sym: recorded "BTC", received "ETH"'
    assert rest == [
        '  recorded: {"op":"sub","args":[{"id":1,"sym":"BTC"}]}',
        '  received: {"op":"sub","args":[{"id":1,"sym":"ETH"}]}',
    ]


@pytest.mark.parametrize(
    ("recorded", "received", "expected"),
    [
        ('{"a":1,"b":2}', '{"a":1}', "at $: key 'b' is missing (recorded 2)"),
        ('{"a":1}', '{"a":1,"c":[3]}', "at $: unexpected key 'c' (received [3])"),
        ("[1,2,3]", "[1,2]", "at $: recorded 3 item(s), received 2"),
        ('{"a":true}', '{"a":1}', "at $.a: recorded true, received 1"),
        ('{"a":0}', '{"a":false}', "at $.a: recorded 0, received false"),
        ('{"a":null}', '{"a":"null"}', 'at $.a: recorded null, received "null"'),
        ('{"a b":{"c":1}}', '{"a b":{"c":2}}', "at $['a b'].c: recorded 1, received 2"),
        ("[1]", '{"0":1}', 'at $: recorded [1], received {"0":1}'),
    ],
)
def test_json_explanations(recorded: str, received: str, expected: str) -> None:
    found = difference(text(recorded), "text", received, EXACT)
    assert found is not None
    assert found.splitlines()[0] == f"JSON differs {expected}"


def test_json_numbers_compare_by_value_under_ignore_rules() -> None:
    assert difference(text('{"a":1}'), "text", '{"a":1.0}', MatchRules(ignore=("$.b",))) is None
    assert difference(text('{"a":1}'), "text", '{"a":1.0}', EXACT) is not None


@pytest.mark.parametrize(
    ("ignore", "received", "matches"),
    [
        (("$.id",), '{"id":2,"op":"sub"}', True),
        (("$.id",), '{"op":"sub"}', True),  # an ignored key may be missing
        (("$.id",), '{"id":1,"op":"unsub"}', False),
        (("$['id']",), '{"id":9,"op":"sub"}', True),
        (('$["id"]',), '{"id":9,"op":"sub"}', True),
        (("$.*",), '{"id":9,"op":"unsub"}', True),
        (("$.items[*].nonce",), '{"id":1,"op":"sub","items":[{"nonce":"x"},{"nonce":"y"}]}', False),
    ],
)
def test_ignore_paths(ignore: tuple[str, ...], received: str, matches: bool) -> None:
    recorded = text('{"id":1,"op":"sub"}')
    found = difference(recorded, "text", received, MatchRules(ignore=ignore))
    assert (found is None) is matches, found


def test_ignore_wildcard_in_arrays() -> None:
    recorded = text('{"items":[{"nonce":"a","v":1},{"nonce":"b","v":2}]}')
    rules = MatchRules(ignore=("$.items[*].nonce",))
    received = '{"items":[{"nonce":"x","v":1},{"nonce":"y","v":2}]}'
    assert difference(recorded, "text", received, rules) is None
    changed = '{"items":[{"nonce":"x","v":1},{"nonce":"y","v":3}]}'
    found = difference(recorded, "text", changed, rules)
    assert found is not None
    assert found.startswith("JSON differs at $.items[1].v: recorded 2, received 3")
    only_first = MatchRules(ignore=("$.items[0].nonce",))
    found = difference(recorded, "text", received, only_first)
    assert found is not None
    assert found.startswith('JSON differs at $.items[1].nonce: recorded "b", received "y"')


def test_replace_rules_on_text() -> None:
    recorded = text("ping at 1700000000123 from a")
    rules = MatchRules(replace=((r"\d{13}", "<ms>"),))
    assert difference(recorded, "text", "ping at 1700000009999 from a", rules) is None
    found = difference(recorded, "text", "ping at 1700000009999 from b", rules)
    assert found is not None
    assert found.splitlines() == [
        "text differs at character 18 (after the replace rules):",
        "--- recorded",
        "+++ received",
        "@@ -1 +1 @@",
        "-ping at <ms> from a",
        "+ping at <ms> from b",
    ]


def test_replace_then_json() -> None:
    """Replace rules apply before the JSON comparison, as the MatchRules docstring shows."""
    recorded = text('{"ts":1700000000,"op":"sub"}')
    rules = MatchRules(replace=((r'"ts":\d+', '"ts":0'),))
    assert difference(recorded, "text", '{"ts":1800000000,"op":"sub"}', rules) is None
    found = difference(recorded, "text", '{"ts":1800000000,"op":"unsub"}', rules)
    assert found is not None
    assert found.startswith('JSON differs at $.op: recorded "sub", received "unsub"')


def test_text_diff_multi_line() -> None:
    recorded = text("line one\nline two\nline three\nline four")
    found = difference(recorded, "text", "line one\nline 2\nline three\nline four", EXACT)
    assert found is not None
    assert found.splitlines() == [
        "text differs at character 14:",
        "--- recorded",
        "+++ received",
        "@@ -1,3 +1,3 @@",
        " line one",
        "-line two",
        "+line 2",
        " line three",
    ]


def test_text_diff_is_short() -> None:
    """A long single line is cut around the difference; many lines are cut to DIFF_LINES."""
    long = "x" * 1000 + "A" + "y" * 1000
    found = difference(text(long), "text", long.replace("A", "B"), EXACT)
    assert found is not None
    assert found.splitlines()[0] == "text differs at character 1000:"
    minus = next(line for line in found.splitlines() if line.startswith("-x") or line[:4] == "-...")
    assert "A" in minus
    assert len(minus) < 200
    many = "\n".join(f"line {n}" for n in range(200))
    found = difference(text(many), "text", many.replace("line", "LINE"), EXACT)
    assert found is not None
    assert found.splitlines()[-1].startswith("... (")
    assert len(found.splitlines()) == DIFF_LINES + 2


def test_text_only_trailing_newline_differs() -> None:
    found = difference(text("hi\n"), "text", "hi", EXACT)
    assert found is not None
    assert found.splitlines()[0] == "text differs at character 2:"
    assert "'hi\\n'" in found


def test_one_side_json_is_text() -> None:
    found = difference(text('{"a":1}'), "text", "not json", EXACT)
    assert found is not None
    assert found.startswith("text differs at character 0:")


def test_binary_explanation() -> None:
    found = difference(
        binary(b"\x00\x01\x02\x03\x04\x05"), "binary", b"\x00\x01\x02\x03\x09", EXACT
    )
    assert found == (
        "binary data differs at byte 4 (recorded 6 bytes, received 5 bytes): from byte 0, "
        "recorded b'\\x00\\x01\\x02\\x03\\x04\\x05', received b'\\x00\\x01\\x02\\x03\\t'"
    )
    found = difference(binary(b"abc"), "binary", b"abcd", EXACT)
    assert found is not None
    assert found.startswith("binary data differs at byte 3 (recorded 3 bytes, received 4 bytes)")


def test_rules_given_as_lists_still_work() -> None:
    rules = MatchRules(ignore=["$.id"], replace=[["a", "b"]])  # type: ignore[arg-type]
    assert difference(text('{"id":1}'), "text", '{"id":2}', rules) is None


@pytest.mark.parametrize(
    ("path", "parsed"),
    [
        ("$", ()),
        ("$.a.b", ("a", "b")),
        ("$.items[*].id", ("items", None, "id")),
        ("$.items[3]", ("items", 3)),
        ("$['key with space'].x", ("key with space", "x")),
        ('$["it\'s"]', ("it's",)),
        ("$['a\\'b']", ("a'b",)),
        ("$.*", (None,)),
        ("$.é", ("é",)),
    ],
)
def test_parse_path(path: str, parsed: tuple[object, ...]) -> None:
    assert parse_path(path) == parsed


def test_format_path() -> None:
    assert format_path(("a", 2, "b c", "d")) == "$.a[2]['b c'].d"


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (MatchRules(ignore=("id",)), "ignore path 'id' is not a JSON path: it must start with $"),
        (MatchRules(ignore=("$.a[",)), "cannot read it from character 3 ('[')"),
        (MatchRules(ignore=("$.a[x]",)), "cannot read it from character 3"),
        (MatchRules(ignore=("$..a",)), "cannot read it from character 1"),
        (MatchRules(ignore="$.id"), "must be a list of JSON paths, got '$.id'"),  # type: ignore[arg-type]
        (MatchRules(replace=(("(", "x"),)), "match rule replace ('(', 'x') is not valid"),
        (MatchRules(replace=(("a", "\\2"),)), "invalid group reference 2"),
        (MatchRules(replace=(("a",),)), "is not a (regex, replacement) pair"),  # type: ignore[arg-type]
        (MatchRules(replace="a"), "must be a list of (regex, replacement) pairs"),  # type: ignore[arg-type]
    ],
)
def test_check_rules_errors(rules: MatchRules, expected: str) -> None:
    """A bad path or regex is named, with an example of a good one."""
    with pytest.raises(ConfigError) as info:
        check_rules(rules)
    assert expected in str(info.value)
    assert "$.id" in str(info.value) or "e.g." in str(info.value)


def test_check_rules_normalises() -> None:
    rules = MatchRules(ignore=["$.id"], replace=[["a", "b"]])  # type: ignore[arg-type]
    assert check_rules(rules) == MatchRules(ignore=("$.id",), replace=(("a", "b"),))
    hash(check_rules(rules))


def test_bad_rules_fail_in_difference_too() -> None:
    with pytest.raises(ConfigError, match="not a JSON path"):
        difference(text("a"), "text", "a", MatchRules(ignore=("nope",)))
