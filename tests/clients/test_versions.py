"""The client tables say which versions they were measured with (tests/clients/notes.py):
the installed clients must be those versions, so that a run checks what the pages claim.

The Python clients are pinned to exactly those versions in the ``test`` extra; the tools
outside Python are checked, when installed, in the ``external`` group."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .notes import CHECKED_PARTS, EXTERNAL, PYTHON_CLIENTS

ROOT = Path(__file__).resolve().parent.parent.parent
UPDATE = (
    "the client tables were measured with {name} {measured}, and {installed} is installed: "
    "install the project's test extra (python -m pip install -e '.[test]'), or, to move to "
    "{installed}, re-run the conformance tests with --wsmock-pin, update the versions in "
    "tests/clients/notes.py (and pyproject.toml), run `python -m tests.clients.render` and "
    "review the diff of the pins and pages"
)


@pytest.mark.parametrize("name", sorted(PYTHON_CLIENTS))
def test_installed_python_client_is_the_measured_one(name: str) -> None:
    installed = importlib.metadata.version(name)
    measured = PYTHON_CLIENTS[name]
    assert installed == measured, UPDATE.format(name=name, measured=measured, installed=installed)


def test_the_test_extra_pins_the_measured_versions() -> None:
    """pyproject.toml's test extra asks for exactly the measured versions."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.findall(r'^\s*"([^"]+)",', text.partition("\ntest = [")[2].partition("]")[0], re.M)
    for name, version in PYTHON_CLIENTS.items():
        assert f"{name}=={version}" in extra, (
            f"pyproject.toml's test extra must pin {name}=={version} (tests/clients/notes.py)"
        )


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout


def _installed(tool: str) -> str:
    """The installed version of an external tool, or a skip naming the script that installs it."""
    if tool == "ws":
        package = ROOT / "drivers" / "node" / "node_modules" / "ws" / "package.json"
        if not package.is_file():
            pytest.skip("npm ws is not installed: run .ci/install-node")
        return str(json.loads(package.read_text(encoding="utf-8"))["version"])
    if tool == "gorilla":
        if shutil.which("dpkg-query") is None:
            pytest.skip("dpkg-query is missing: gorilla/websocket is Debian's package here")
        try:
            text = _run("dpkg-query", "-W", "-f=${Version}", "golang-github-gorilla-websocket-dev")
        except subprocess.CalledProcessError:
            pytest.skip("golang-github-gorilla-websocket-dev is not installed: run .ci/install-go")
        return text.split("-")[0]
    command = {
        "node": ("node", "--version"),
        "go": ("go", "version"),
        "chromium": ("chromium", "--version"),
    }[tool]
    script = {"node": "install-node", "go": "install-go", "chromium": "install-chromium"}[tool]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed: run .ci/{script}")
    found = re.search(r"(\d+(?:\.\d+)+)", _run(*command))
    assert found is not None, f"no version in the output of {' '.join(command)}"
    return found.group(1)


@pytest.mark.external
@pytest.mark.parametrize("tool", sorted(EXTERNAL))
def test_installed_external_tool_is_the_measured_one(tool: str) -> None:
    parts = CHECKED_PARTS[tool]
    installed = _installed(tool)
    measured = EXTERNAL[tool]
    assert installed.split(".")[:parts] == measured.split(".")[:parts], UPDATE.format(
        name=tool, measured=measured, installed=installed
    )
