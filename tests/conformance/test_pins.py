"""Pins and the report of the conformance kit, without clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_wsmock.conformance import Verdict, report_from_pins, report_markdown, write_report
from pytest_wsmock.conformance._pins import PinFileError, Pins, dump, load, merged, problem, write
from pytest_wsmock.conformance._report import Row, build

PATH = Path("conformance.json")


def test_a_matching_pin_or_set_passes() -> None:
    """A verdict passes when it is the pin, or one of a set's."""
    pins: Pins = {"c": {"x/a": "caught E", "x/b": ["accepted", "caught E"]}}
    assert problem(PATH, pins, "c", "x/a", "caught E", "caught E (m)") is None
    assert problem(PATH, pins, "c", "x/b", "accepted", "accepted") is None


def test_a_changed_verdict_says_before_and_after() -> None:
    """A verdict that differs from its pin: before, after, the file and the option."""
    pins: Pins = {"c": {"x/a": "caught E", "x/b": ["accepted", "caught E"]}}
    text = problem(PATH, pins, "c", "x/a", "accepted", "accepted (opened the connection)")
    assert text is not None
    assert "c on x/a: the verdict changed" in text
    assert "before (pinned): caught E\n" in text
    assert "after (now):     accepted (opened the connection)\n" in text
    assert "--wsmock-pin" in text
    assert "conformance.json" in text
    text = problem(PATH, pins, "c", "x/b", "hung", "hung")
    assert text is not None
    assert "one of: accepted | caught E" in text


def test_a_missing_pin_or_file_says_how_to_create_it() -> None:
    """No pin, or no file: the message says to run --wsmock-pin."""
    no_pin = problem(PATH, {"c": {}}, "c", "x/a", "accepted", "accepted")
    assert no_pin is not None
    assert "no pin in conformance.json" in no_pin
    assert "--wsmock-pin" in no_pin
    no_file = problem(PATH, None, "c", "x/a", "accepted", "accepted")
    assert no_file is not None
    assert "does not exist" in no_file
    assert "--wsmock-pin" in no_file


def test_merged_keeps_what_did_not_run_and_sets_that_hold() -> None:
    """A rewrite keeps pins of entries that did not run and sets that hold the verdict;
    a changed pin becomes the run's verdict, several verdicts a sorted list."""
    old: Pins = {"c": {"x/a": "caught E", "x/b": ["accepted", "caught E"], "x/c": "hung"}}
    run = {"c": {"x/b": ["accepted"], "x/c": ["accepted"]}, "d": {"x/a": ["hung", "caught F"]}}
    assert merged(old, run) == {
        "c": {"x/a": "caught E", "x/b": ["accepted", "caught E"], "x/c": "accepted"},
        "d": {"x/a": ["caught F", "hung"]},
    }


def test_pin_file_text_is_sorted_and_indented(tmp_path: Path) -> None:
    """The file has sorted keys, indent 2 and a final newline; a rewrite that changes
    nothing leaves it alone."""
    path = tmp_path / "pins.json"
    assert write(path, {"c": {"x/b": ["accepted"], "x/a": ["caught E"]}})
    text = path.read_text()
    assert text == '{\n  "c": {\n    "x/a": "caught E",\n    "x/b": "accepted"\n  }\n}\n'
    assert text == dump(load(path) or {})
    assert not write(path, {"c": {"x/a": ["caught E"]}})


@pytest.mark.parametrize("text", ["{", '{"c": ["caught E"]}', '{"c": {"x/a": 3}}'])
def test_a_broken_pin_file_is_refused(tmp_path: Path, text: str) -> None:
    """A pin file that is not JSON, or not client -> case -> pin, is an error that says so."""
    path = tmp_path / "pins.json"
    path.write_text(text)
    with pytest.raises(PinFileError, match=r"pins\.json"):
        load(path)


def _row(client: str, catalogue: str, entry: str, verdict: Verdict) -> Row:
    return Row(client, catalogue, entry, f"does {entry}", f"rule of {entry}", verdict)


def test_report_rows_columns_and_counts() -> None:
    """The report: a table per catalogue in catalogue order, entries in catalogue order,
    a column per client, a count row per catalogue and per client."""
    rows = [
        _row("b", "frame-violation", "invalid-utf8", Verdict("accepted", sent_close=False)),
        _row("a", "handshake-failure", "missing-accept", Verdict("caught", "E")),
        _row("a", "handshake-failure", "wrong-accept", Verdict("hung")),
        _row("b", "handshake-failure", "wrong-accept", Verdict("caught", "F")),
    ]
    data = build(rows)
    assert data["clients"] == ["a", "b"]
    assert data["counts"] == {
        "a": {"caught": 1, "accepted": 0, "hung": 1},
        "b": {"caught": 1, "accepted": 1, "hung": 0},
    }
    assert [c["name"] for c in data["catalogues"]] == ["handshake-failure", "frame-violation"]
    assert [e["id"] for e in data["catalogues"][0]["entries"]] == ["wrong-accept", "missing-accept"]
    page = report_markdown(data)
    assert "| `wrong-accept` | does wrong-accept | rule of wrong-accept | hung | caught F |" in page
    assert (
        "| `missing-accept` | does missing-accept | rule of missing-accept | caught E |  |" in page
    )
    assert "| caught / accepted / hung | | | 1 / 0 / 1 | 1 / 0 / 0 |" in page
    assert "| a | 1 | 0 | 1 |" in page
    assert json.loads(json.dumps(data)) == data


def test_report_from_pins() -> None:
    """A table made from a pin file (no run): entries in catalogue order with their
    description and rule, a set's summaries joined by "or", counted under "varies" when
    their kinds differ."""
    pins: Pins = {
        "b": {"tls-fault/expired": "caught E"},
        "a": {
            "tls-fault/expired": ["accepted", "caught E"],
            "handshake-failure/wrong-accept": ["caught E", "caught F"],
            "handshake-failure/gone": "hung",
        },
    }
    data = report_from_pins(pins)
    assert data["clients"] == ["a", "b"]
    assert data["counts"]["a"] == {"caught": 1, "accepted": 0, "hung": 1, "varies": 1}
    page = report_markdown(data)
    assert "| client | caught | accepted | hung | varies |" in page
    assert (
        "| `wrong-accept` | Sec-WebSocket-Accept is not the hash of the client's key | "
        "RFC 6455 section 4.1 (client step 4) | caught E or caught F |  |"
    ) in page
    assert "| `gone` |  |  | hung |  |" in page
    assert "| `expired` | presents a certificate that expired yesterday | " in page
    assert "| accepted or caught E | caught E |" in page
    assert "| caught / accepted / hung / varies | | | 0 / 0 / 0 / 1 | 1 / 0 / 0 / 0 |" in page


def test_report_of_a_repeated_case() -> None:
    """A case that ran several times (--wsmock-repeat) shows every summary it gave, counted
    under "varies" when their kinds differ."""
    rows = [
        _row("a", "tls-fault", "expired", Verdict("caught", "E")),
        _row("a", "tls-fault", "expired", Verdict("caught", "E")),
        _row("a", "tls-fault", "expired", Verdict("accepted")),
    ]
    data = build(rows)
    assert data["counts"]["a"] == {"caught": 0, "accepted": 0, "hung": 0, "varies": 1}
    assert "| `expired` | does expired | rule of expired | accepted or caught E |" in (
        report_markdown(data)
    )


def test_report_from_a_pin_file(tmp_path: Path) -> None:
    """The public path: a pin file's path in, the Markdown and JSON files out; a missing
    file names the option that writes one."""
    pins = tmp_path / "conformance.json"
    pins.write_text(json.dumps({"a": {"tls-fault/expired": "caught E"}}), encoding="utf-8")
    data = report_from_pins(pins)
    assert data["counts"] == {"a": {"caught": 1, "accepted": 0, "hung": 0}}
    written = write_report(tmp_path / "out" / "report.md", data)
    assert written == (tmp_path / "out" / "report.md", tmp_path / "out" / "report.json")
    assert "| `expired` | presents a certificate that expired yesterday |" in (
        written[0].read_text(encoding="utf-8")
    )
    assert json.loads(written[1].read_text(encoding="utf-8")) == data
    with pytest.raises(FileNotFoundError, match="--wsmock-pin"):
        report_from_pins(tmp_path / "missing.json")
    pins.write_text("[1]", encoding="utf-8")
    with pytest.raises(PinFileError, match="not a pin file"):
        report_from_pins(str(pins))
