"""Measure how a test session's memory grows with the number of tests that use ``ws_server``.

Run it by hand (it is not a test, and pytest does not collect it)::

    python benchmarks/bench_memory.py                  # 1,000 ws and 1,000 wss tests
    python benchmarks/bench_memory.py --tests 200      # quicker
    python benchmarks/bench_memory.py --checkout DIR   # measure another (older) checkout

Each run is a fresh ``python -m pytest`` process on a generated test file of ``--tests`` trivial
tests: start the fixture's server, connect with websockets' sync client, echo one text message
(compressed, so both sides hold deflate contexts), close. A small conftest samples the resident
set size (``VmRSS``, after ``gc.collect()``) after the warm-up tests and after the last test; the
script prints the growth per test. A session that releases each finished test's servers grows
by a few KiB per test at most (pytest's own items and reports); one that keeps them grows by
the size of a server with its records.

It prints numbers and asserts nothing: memory use differs between machines and Python builds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Tests run before the first sample, so that imports, the event-loop thread, the CA and the
#: allocator's first arenas are not counted as growth.
WARM_UP = 50

CONFTEST = """
import gc
import json
import os

RESULT = os.environ["WSMOCK_BENCH_RESULT"]
WARM_UP = int(os.environ["WSMOCK_BENCH_WARM_UP"])
finished = 0
samples = {}


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def pytest_runtest_logfinish(nodeid, location):
    global finished
    finished += 1
    if finished == WARM_UP:
        gc.collect()
        samples["warm"] = rss_kib()


def pytest_sessionfinish(session):
    gc.collect()
    samples["end"] = rss_kib()
    samples["tests"] = finished
    with open(RESULT, "w") as out:
        json.dump(samples, out)
"""

TESTS = """
import pytest
import websockets.sync.client
from pytest_wsmock import echo


@pytest.mark.parametrize("n", range(COUNT))
def test_echo(FIXTURE, n):
    FIXTURE.handler(echo)
    with websockets.sync.client.connect(
        FIXTURE.url, open_timeout=5, close_timeout=5, proxy=None, SSL
    ) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
    FIXTURE.wait_for_connection().wait_closed()
"""


def run(kind: str, tests: int, checkout: Path) -> dict[str, int]:
    """Run ``tests`` tests of ``kind`` (``ws`` or ``wss``) in a fresh pytest; return the samples."""
    fixture = "wss_server" if kind == "wss" else "ws_server"
    ssl = f"ssl={fixture}.client_ssl_context()" if kind == "wss" else ""
    with tempfile.TemporaryDirectory(prefix="wsmock-bench-memory-") as tmp:
        directory = Path(tmp)
        (directory / "conftest.py").write_text(CONFTEST)
        source = TESTS.replace("COUNT", str(tests)).replace("FIXTURE", fixture)
        (directory / "test_memory.py").write_text(source.replace("SSL", ssl))
        (directory / "pytest.ini").write_text("[pytest]\n")
        result = directory / "result.json"
        env = dict(os.environ)
        # The checkout comes first on sys.path, before any installed copy of the package.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout), env.get("PYTHONPATH")]))
        env["WSMOCK_BENCH_RESULT"] = str(result)
        env["WSMOCK_BENCH_WARM_UP"] = str(WARM_UP)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["-p", "no:randomly", "-p", "no:benchmark", "-p", "no:hypothesispytest"]
        done = subprocess.run(
            command, cwd=directory, env=env, capture_output=True, text=True, timeout=1800
        )
        if not result.exists():
            sys.exit(f"the {kind} run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        if done.returncode != 0:
            # A measurement, not a test: a failed test (e.g. a client timing out on a loaded
            # machine) is shown, and the numbers still count.
            failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
            print(f"{kind}: {len(failed)} test(s) failed:", *failed, sep="\n  ")
        samples: dict[str, int] = json.loads(result.read_text())
        return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=1000, help="tests per run (default 1000)")
    parser.add_argument(
        "--kind", choices=("ws", "wss", "both"), default="both", help="which fixture to use"
    )
    parser.add_argument(
        "--checkout",
        type=Path,
        default=ROOT,
        help="directory holding the pytest_wsmock package to measure (default: this checkout)",
    )
    args = parser.parse_args()
    if args.tests <= WARM_UP:
        parser.error(f"--tests must be more than the {WARM_UP} warm-up tests")
    print(f"pytest-wsmock from {args.checkout.resolve()}, {args.tests} tests per run")
    kinds = ("ws", "wss") if args.kind == "both" else (args.kind,)
    for kind in kinds:
        samples = run(kind, args.tests, args.checkout)
        measured = samples["tests"] - WARM_UP
        growth = samples["end"] - samples["warm"]
        print(
            f"{kind}_server: RSS {samples['warm'] / 1024:.1f} MiB after {WARM_UP} tests, "
            f"{samples['end'] / 1024:.1f} MiB after {samples['tests']}: "
            f"{growth / 1024:+.1f} MiB, {growth / measured:.1f} KiB per test"
        )


if __name__ == "__main__":
    main()
