"""Where the drivers are, and a skip (never a failure) naming the install script when not."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
NODE_DIR = ROOT / "drivers" / "node"
GO_DRIVER = ROOT / "drivers" / "go" / "gorilla_driver"
PYTHON_DRIVER = Path(__file__).resolve().parent / "python_driver.py"


def node_command() -> list[str]:
    """``node drivers/node/ws_driver.mjs``, or a skip saying how to install what is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: run .ci/install-node (as root)")
    if not (NODE_DIR / "node_modules" / "ws" / "package.json").is_file():
        pytest.skip(f"npm ws is not installed in {NODE_DIR}/node_modules: run .ci/install-node")
    return [node, str(NODE_DIR / "ws_driver.mjs")]


def go_command() -> list[str]:
    """The built gorilla/websocket driver, or a skip saying how to build it."""
    source = GO_DRIVER.with_suffix(".go")
    if not GO_DRIVER.is_file():
        pytest.skip(f"the Go driver is not built ({GO_DRIVER}): run .ci/install-go (as root)")
    if GO_DRIVER.stat().st_mtime < source.stat().st_mtime:
        pytest.skip(f"the Go driver is older than {source.name}: run .ci/install-go to rebuild")
    return [str(GO_DRIVER)]


def python_command() -> list[str]:
    """The Python driver (websockets' sync client): needs nothing but the test extra."""
    return [sys.executable, str(PYTHON_DRIVER)]
