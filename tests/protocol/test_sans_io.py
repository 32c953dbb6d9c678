"""The protocol core is sans-IO: no module imports sockets, TLS or an event loop."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_wsmock._protocol as protocol

FORBIDDEN = frozenset({"socket", "ssl", "asyncio", "trio", "anyio", "selectors"})
PACKAGE_DIR = Path(protocol.__file__).parent
MODULES = sorted(PACKAGE_DIR.glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module an ``import`` statement in ``path`` names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_package_has_the_expected_modules() -> None:
    """The walk below sees every module of the package."""
    assert {path.name for path in MODULES} >= {
        "__init__.py",
        "_close.py",
        "_deflate.py",
        "_frames.py",
        "_handshake.py",
        "_headers.py",
        "_messages.py",
        "_utf8.py",
        "_violations.py",
    }


@pytest.mark.parametrize("path", MODULES, ids=[path.name for path in MODULES])
def test_module_imports_no_io(path: Path) -> None:
    """No module of the protocol package imports an I/O or event-loop module."""
    assert imported_modules(path) & FORBIDDEN == set()


def test_module_imports_only_stdlib() -> None:
    """Absolute imports are all standard-library modules (relative ones stay in the package)."""
    imported = set().union(*(imported_modules(path) for path in MODULES))
    assert imported - {"__future__"} <= sys.stdlib_module_names


def test_importing_the_package_loads_no_io_module() -> None:
    """Importing the package in a fresh interpreter loads none of them, even transitively."""
    code = (
        "import pytest_wsmock._protocol, json\n"
        f"print(json.dumps(sorted(set(sys.modules) & {set(FORBIDDEN)!r})))\n"
    )
    # Stub the parent package so that only the protocol core is imported, whatever
    # pytest_wsmock/__init__.py pulls in (the server and plugin do use anyio).
    stub = (
        "import sys, types\n"
        "parent = types.ModuleType('pytest_wsmock')\n"
        f"parent.__path__ = [{str(PACKAGE_DIR.parent)!r}]\n"
        "sys.modules['pytest_wsmock'] = parent\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", stub + code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == []
