"""The documentation's examples run as tests, and every public name is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pytest_wsmock
import pytest_wsmock.conformance

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: A fenced code block: its info string and its body. Fences sit at the start of a line.
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
#: A test function, or a conformance module's ``test_x = conformance_tests(...)``.
TEST_FUNCTION = re.compile(
    r"^((async )?def test_\w*\(|test_\w* = conformance_tests\()", re.MULTILINE
)

#: The ini file of every example's run: as strict as this project's own configuration.
INI = """\
[pytest]
addopts = -p no:hypothesispytest -p no:benchmark --strict-markers --strict-config
filterwarnings =
    error
asyncio_default_fixture_loop_scope = function
"""


def doc_files() -> list[Path]:
    """README.md and every Markdown file under docs/, in a stable order."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def python_examples() -> list[tuple[str, str]]:
    """``(id, code)`` for every ```python block that defines a test function."""
    examples = []
    for path in doc_files():
        number = 0
        for match in FENCE.finditer(path.read_text(encoding="utf-8")):
            language, code = match.group(1).strip(), match.group(2)
            if language != "python":
                continue
            number += 1
            if TEST_FUNCTION.search(code):
                examples.append((f"{path.relative_to(ROOT).as_posix()}:{number}", code))
    return examples


EXAMPLES = python_examples()


def test_examples_were_found() -> None:
    """The collector finds the examples of the README and of every docs page."""
    files = {example_id.rpartition(":")[0] for example_id, _ in EXAMPLES}
    assert "README.md" in files
    assert "docs/getting-started.md" in files
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize(
    "code", [code for _, code in EXAMPLES], ids=[example_id for example_id, _ in EXAMPLES]
)
def test_example_runs(pytester: pytest.Pytester, code: str) -> None:
    """The example is a complete test file whose tests all pass."""
    pytester.makeini(INI)
    pytester.makepyfile(test_example=code)
    # trio keeps global state that must not leak into this process: run those apart.
    run = pytester.runpytest_subprocess if "trio" in code else pytester.runpytest
    # A conformance module runs as its page says to start: with --wsmock-pin, which writes
    # its pin file (a second run would compare verdicts that may depend on timing).
    pin = ["--wsmock-pin"] if "conformance_tests(" in code else []
    result = run("-p", "no:cacheprovider", *pin)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1, result.stdout.str()
    assert not {"failed", "errors", "error", "xfailed", "xpassed"} & set(outcomes), (
        result.stdout.str()
    )
    assert result.ret == pytest.ExitCode.OK


def test_every_public_name_is_documented() -> None:
    """Each name in pytest_wsmock.__all__ and pytest_wsmock.conformance.__all__ appears as
    code (`name...`) somewhere under docs/."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS.rglob("*.md"))
    # In inline code or in an example's import: plain words such as "close" do not count.
    missing = [
        name
        for name in [*pytest_wsmock.__all__, *pytest_wsmock.conformance.__all__]
        if not re.search(rf"(`|import .*\b){re.escape(name)}\b", text)
    ]
    assert missing == []


def test_readme_links_resolve() -> None:
    """Every relative link in README.md and docs/ points to a file that exists."""
    broken = []
    for path in doc_files():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT).as_posix()} -> {target}")
    assert broken == []
