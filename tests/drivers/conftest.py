"""One ``DriverClient`` per driver, started once per module and stopped at its end."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pytest_wsmock.conformance import DriverClient

from ._tools import go_command, node_command, python_command

#: The drivers, by the client's column name; Node and Go need tools (.ci/install-*).
DRIVERS: dict[str, Callable[[], list[str]]] = {
    "node-ws": node_command,
    "gorilla": go_command,
    "python-websockets": python_command,
}
EXTERNAL = {"node-ws", "gorilla"}


def driver_params(*names: str) -> list[object]:
    """``pytest.param`` per driver (all by default), the external ones marked so."""
    return [
        pytest.param(name, id=name, marks=[pytest.mark.external] if name in EXTERNAL else [])
        for name in names or DRIVERS
    ]


@pytest.fixture(scope="module")
def driver(request: pytest.FixtureRequest) -> Iterator[DriverClient]:
    """The ``DriverClient`` named by the test's ``driver`` parameter (skips if not installed)."""
    name: str = request.param
    command = DRIVERS[name]()
    with DriverClient(command, name=name) as client:
        yield client
