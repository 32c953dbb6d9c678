"""``conformance_tests``: the one function a user's conformance module calls."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence

import pytest

from .._factory import ServerFactory
from . import _pins, _session
from ._adapter import AnyClient
from ._catalogues import ALL, Case, Entry, cases_of
from ._report import Row
from ._scenarios import run_case

#: Cases that take longer than this (seconds) run once, whatever ``--wsmock-repeat`` says.
REPEAT_UNDER = 0.5

#: The timeout the kit gives every client call (connect, each receive, close), in seconds.
TIMEOUT = 2.0


def conformance_tests(
    client: AnyClient,
    *,
    pins: str | os.PathLike[str] | None,
    catalogues: Iterable[Sequence[Entry] | Entry] = ALL,
    timeout: float = TIMEOUT,
) -> Callable[..., None]:
    """A test function, parametrized over the entries of ``catalogues``, that lets ``client``
    meet each entry on a mock server and checks its verdict against ``pins``.

    Assign it to a ``test_`` name in a test module::

        test_conformance = conformance_tests(MyClient(), pins="conformance.json")

    Args:
        client: a sync (:class:`Client`) or async (:class:`AsyncClient`) adapter.
        pins: the pin file, relative to the test module's folder (``None``: no pins, the
            verdicts only go to the report).
        catalogues: the catalogues to run (each a sequence of entries, or a single entry):
            ``ALL`` (the default), or e.g. ``[HANDSHAKE_FAILURES, FRAME_VIOLATIONS[:3]]``.
        timeout: the client's own timeout for every call, in seconds; the kit stops a call
            that runs 2 s longer (the adapter's ``margin`` + 1 s, when it has one) and the
            verdict is ``hung``.

    The tests use the ``ws_server_factory`` fixture: a ``wsmock`` marker's options apply to
    their servers, except those the kit sets for each catalogue.
    """
    cases = cases_of(catalogues)
    params = [pytest.param(case, id=case.id) for case in cases]
    name = client.name

    @pytest.mark.parametrize("wsmock_case", params)
    def test_conformance(
        wsmock_case: Case, ws_server_factory: ServerFactory, request: pytest.FixtureRequest
    ) -> None:
        case, config = wsmock_case, request.config
        path = None if pins is None else request.path.parent / pins
        verdicts = []
        for _ in range(repeats(config)):
            started = time.monotonic()
            verdict = run_case(client, case, ws_server_factory, timeout)
            verdicts.append(verdict)
            row = Row(
                name,
                case.catalogue,
                case.entry_id,
                case.description,
                case.rule,
                verdict,
                None if path is None else str(path),
            )
            _session.add(config, row)
            if time.monotonic() - started > REPEAT_UNDER:
                break  # a slow case (a timeout decides it) is not timing-sensitive
        if path is None or config.getoption("wsmock_pin", default=False):
            return
        try:
            loaded = _pins.load(path)
        except _pins.PinFileError as exc:
            pytest.fail(str(exc), pytrace=False)
        for verdict in verdicts:
            problem = _pins.problem(path, loaded, name, case.id, verdict.summary, str(verdict))
            if problem is not None:
                pytest.fail(problem, pytrace=False)

    test_conformance.__doc__ = f"{name} meets one catalogue entry as its pin says."
    return test_conformance


def repeats(config: pytest.Config) -> int:
    """How often each case runs (``--wsmock-repeat``, at least once)."""
    value = config.getoption("wsmock_repeat", default=1)
    return max(1, int(value or 1))
