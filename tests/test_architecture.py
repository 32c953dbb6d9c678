"""The architecture rules of DESIGN.md section 3, checked on the source rather than by review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_wsmock"

#: Layers from the bottom up; a module may import from its own layer and the ones below.
LAYERS: dict[str, tuple[str, ...]] = {
    "protocol": ("_protocol",),
    "records": (
        "_preview",
        "_errors",
        "_records",
        "_http_records",
        "_matchers",
        "_assertions",
        "_transcript",
        "_connection",
        "_cassette",
        "_cassette_match",
        "_cassette_io",
        "_cassette_secrets",
        "_har",
        "_cassette_record",
    ),
    "outcomes": (
        "_handshake_base",
        "_handshakes",
        "_handshake_catalogue",
        "_tls",
        "_options",
        "_ini",
        "_websocket",
        "_steps",
        "_rules",
        "_faults",
        "_frame_violations",
        "_handlers",
        "_routes",
        "_replay",
    ),
    "engine": (
        "_fastio",
        "_inbox",
        "_pings",
        "_actions",
        "_reading",
        "_http",
        "_opening",
        "_script",
        "_engine",
        "_upstream_open",
        "_upstream",
        "_proxy",
    ),
    "server": (
        "_live",
        "_loop",
        "_server_base",
        "_server_live",
        "_server_replay",
        "_server_relay",
        "_server",
        "_cassettes",
        "_factory",
    ),
    # A subpackage counts as one module. The conformance kit sits above the server layer and
    # below the plugin, whose hooks write its pins and report.
    "conformance": ("conformance",),
    "plugin": ("_plugin",),
}
#: The package's face: it re-exports every layer.
FACADE = "__init__"
MAX_LINES = 500
#: Private names outside the package that a module may use, with why.
ALLOWED_PRIVATE = {
    # Documented CPython API (sys._current_frames): names a stuck task when the loop won't stop.
    "_current_frames",
}


def _module_name(path: Path) -> str:
    """The subpackage (``_protocol``, ``conformance``) for each of its files, else the stem."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else path.stem


def _layer_of(module: str) -> int:
    for rank, modules in enumerate(LAYERS.values()):
        if module in modules:
            return rank
    raise AssertionError(f"module {module} is in no layer: add it to LAYERS in {__file__}")


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Sibling modules ``path`` imports, at any depth (TYPE_CHECKING and functions included)."""
    tree = ast.parse(path.read_text())
    inside_subpackage = path.parent != PACKAGE
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if inside_subpackage and node.level == 1:
                continue  # within the subpackage
            target = (node.module or "").split(".")[0]
            if target:
                found.add(target)
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pytest_wsmock."):
            found.add((node.module or "").split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pytest_wsmock."):
                    found.add(alias.name.split(".")[1])
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _sources():
        name = _module_name(path)
        if name == FACADE:
            continue
        graph.setdefault(name, set()).update(_imports(path) - {name})
    return graph


def test_every_module_has_a_layer() -> None:
    """Each module of the package sits in exactly one layer of the diagram."""
    listed = [module for modules in LAYERS.values() for module in modules]
    assert len(listed) == len(set(listed))
    assert sorted(_graph()) == sorted(listed)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down(path: Path) -> None:
    """No module imports from a layer above its own, TYPE_CHECKING imports included."""
    name = _module_name(path)
    if name == FACADE:
        return
    upward = [
        f"{name} ({list(LAYERS)[_layer_of(name)]}) imports {target} "
        f"({list(LAYERS)[_layer_of(target)]})"
        for target in sorted(_imports(path))
        if _layer_of(target) > _layer_of(name)
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    """The modules' imports form no cycle, not even within a layer."""
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_names_of_other_modules(path: Path) -> None:
    """A module reads no other object's ``_private`` attribute and imports no private name."""
    tree = ast.parse(path.read_text())
    own = _defined_here(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if node.attr in own or node.attr in ALLOWED_PRIVATE:
                continue  # the module's own classes may use each other's private parts
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom):
            found += [
                f"line {node.lineno}: import {alias.name}"
                for alias in node.names
                if _private(alias.name) and not (node.level and node.module is None)
            ]
    assert found == []


def _defined_here(tree: ast.Module) -> set[str]:
    """Private names the module itself defines: functions, classes, ``self._x = ...``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_size(path: Path) -> None:
    """No module is over about 500 lines."""
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines"
