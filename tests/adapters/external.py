"""The clients outside Python as conformance-kit adapters: Node's ``ws`` and Go's
gorilla/websocket through their drivers (``drivers/``), and headless Chromium.

Each function returns the adapter, or the reason it cannot run here (a skip reason naming the
script that installs what is missing); nothing starts before the first ``connect``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pytest_wsmock.conformance import DriverClient

from .chromium import Chromium, missing

ROOT = Path(__file__).resolve().parent.parent.parent
NODE_DIR = ROOT / "drivers" / "node"
GO_DRIVER = ROOT / "drivers" / "go" / "gorilla_driver"


def node_ws() -> DriverClient | str:
    """``node drivers/node/ws_driver.mjs`` (npm ``ws``), or why not."""
    node = shutil.which("node")
    if node is None:
        return "node is not installed: run .ci/install-node (as root)"
    if not (NODE_DIR / "node_modules" / "ws" / "package.json").is_file():
        return f"npm ws is not installed in {NODE_DIR}/node_modules: run .ci/install-node"
    return DriverClient([node, str(NODE_DIR / "ws_driver.mjs")], name="node-ws")


def gorilla() -> DriverClient | str:
    """The built gorilla/websocket driver, or why not."""
    source = GO_DRIVER.with_suffix(".go")
    if not GO_DRIVER.is_file():
        return f"the Go driver is not built ({GO_DRIVER}): run .ci/install-go (as root)"
    if GO_DRIVER.stat().st_mtime < source.stat().st_mtime:
        return f"the Go driver is older than {source.name}: run .ci/install-go to rebuild"
    return DriverClient([str(GO_DRIVER)], name="gorilla")


def chromium() -> Chromium | str:
    """Headless Chromium (it trusts the CA the kit passes as ``ca_path``), or why not."""
    reason = missing()
    return reason if reason is not None else Chromium()
