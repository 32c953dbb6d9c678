"""Goal P5 of issue 12: a suite of ws_server echo tests, serially and under ``pytest -n 2``.

Run it by hand from the repository root (it is not a test, and pytest does not collect it)::

    python benchmarks/bench_xdist.py              # 1,000 tests, 3 alternated pairs, ~2 min
    python benchmarks/bench_xdist.py --pairs 5    # more pairs, when there is time

It writes a suite of ``--tests`` tests to a temporary directory (each: ``ws_server`` with
``echo``, connect with websockets' sync client, one echo, close) and runs it with pytest in a
subprocess, serially and with ``-n 2`` (pytest-xdist), alternately: serial then ``-n 2``, then
``-n 2`` then serial, and so on. A control follows: the same number of empty tests with the
plugin disabled, serially and with ``-n 2``, which is what xdist itself costs on the machine.
A pair's figure is the serial wall time over the ``-n 2`` wall time, whole runs (start-up,
collection and the workers' start included, which is what a user waits for); the script prints
the median over ``--pairs`` pairs. The goal is at least 1.6x.

A 2-core machine shared with other processes moves these runs a lot; the pairs' spread is
printed with the median. Every run is bounded by a subprocess timeout, and the script asserts
nothing about time: it prints measurements and exits 0.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.6

TEST = """
def test_echo_{index:04d}(ws_server):
    ws_server.handler(echo)
    with connect(ws_server.url, compression=None, open_timeout=10, close_timeout=10) as ws:
        ws.send("hello {index}")
        assert ws.recv(timeout=10) == "hello {index}"
"""


EMPTY = """
def test_empty_{index:04d}():
    pass
"""


def write_suite(directory: Path, tests: int, empty: bool = False) -> None:
    parts = ["from websockets.sync.client import connect\n\nfrom pytest_wsmock import echo\n"]
    parts.extend((EMPTY if empty else TEST).format(index=index) for index in range(tests))
    (directory / "test_echo_suite.py").write_text("".join(parts))
    (directory / "pytest.ini").write_text("[pytest]\n")


def run(directory: Path, workers: int | None, tests: int, *extra: str) -> float:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p"]
    command += ["no:randomly", *extra, str(directory)]
    if workers is not None:
        command += ["-n", str(workers)]
    else:
        command += ["-p", "no:xdist"]
    start = time.perf_counter()
    proc = subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, timeout=60 + tests
    )
    elapsed = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"the suite failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=1000, help="tests in the suite (1000)")
    parser.add_argument("--pairs", type=int, default=3, help="alternated pairs (3)")
    parser.add_argument("--workers", type=int, default=2, help="xdist workers (2)")
    parser.add_argument(
        "--no-control", dest="control", action="store_false", help="skip the empty-suite control"
    )
    args = parser.parse_args()
    faulthandler.dump_traceback_later(60 * 60, exit=True)
    with tempfile.TemporaryDirectory(prefix="wsmock-xdist-") as tmp:
        directory = Path(tmp)
        write_suite(directory, args.tests)
        run(directory, args.workers, min(args.tests, 50))  # warm up: bytecode, page cache
        pairs = []
        for index in range(args.pairs):
            order = (None, args.workers) if index % 2 == 0 else (args.workers, None)
            times = {workers: run(directory, workers, args.tests) for workers in order}
            pairs.append((times[None], times[args.workers]))
            serial, parallel = pairs[-1]
            print(f"  pair {index + 1}: serial {serial:.1f} s, -n {args.workers} {parallel:.1f} s")
        if args.control:
            # xdist's own cost on this machine: the same number of empty tests, the plugin off.
            write_suite(directory, args.tests, empty=True)
            off = ("-p", "no:wsmock")
            serial = run(directory, None, args.tests, *off)
            parallel = run(directory, args.workers, args.tests, *off)
            print(
                f"  control, {args.tests} empty tests without pytest-wsmock: serial "
                f"{serial:.1f} s, -n {args.workers} {parallel:.1f} s: {serial / parallel:.2f}x"
            )
    ratios = [serial / parallel for serial, parallel in pairs]
    median = statistics.median(ratios)
    verdict = "MET" if median >= GOAL else "MISSED"
    spread = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"{args.tests} ws_server echo tests, serial / -n {args.workers} wall time: "
        f"{median:.2f}x (goal >= {GOAL}: {verdict}; pairs: {spread})"
    )


if __name__ == "__main__":
    main()
