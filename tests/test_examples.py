"""The examples suite (README's main job) passes, whole, on both server backends."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: How many tests examples/ holds; a test lost (a module that no longer imports, a
#: parametrization that shrank) is a failure too.
EXPECTED_TESTS = 38

#: README's command, with no cache written into the checkout.
COMMAND = [sys.executable, "-m", "pytest", "examples", "-q", "-p", "no:cacheprovider"]


# The trio run is in the slow group (.ci/run also runs the suite itself first, on asyncio).
@pytest.mark.parametrize("backend", ["asyncio", pytest.param("trio", marks=pytest.mark.slow)])
def test_examples_suite_passes(backend: str) -> None:
    """``python -m pytest examples`` from the repository root: every test passes."""
    result = subprocess.run(
        [*COMMAND, "--wsmock-backend", backend],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    assert result.returncode == 0, output
    assert re.fullmatch(rf"{EXPECTED_TESTS} passed in [\d.]+s", summary), output
