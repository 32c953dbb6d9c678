"""Process CPU time per 1 KiB echo and per test cycle, for one checkout or two side by side.

Run it by hand (it is not a test)::

    python benchmarks/bench_cpu.py                      # this checkout
    python benchmarks/bench_cpu.py --against DIR        # and another checkout, alternated

CPU time (``time.process_time()`` of the whole process: server thread and client) is steadier
than wall time on a shared, noisy machine: other processes slow the wall clock, not the work
this process does. The client is the same on both sides, so a difference is the server's.
Each measurement runs in a fresh process, alternating between the checkouts, and the script
prints medians and the ratio. It asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import statistics, sys, time
import websockets.sync.client
from pytest_wsmock import MockServer, ServerOptions, echo

what = sys.argv[1]
if what == "echo":
    with MockServer(ServerOptions()) as server:
        server.handler(echo)
        with websockets.sync.client.connect(server.url) as ws:
            message = b"x" * 1024
            for _ in range(200):
                ws.send(message); ws.recv()
            started = time.process_time()
            for _ in range(3000):
                ws.send(message); ws.recv()
            print((time.process_time() - started) / 3000 * 1e6)
else:
    times = []
    for index in range(250):
        started = time.process_time()
        server = MockServer(ServerOptions()).start()
        server.handler(echo)
        with websockets.sync.client.connect(server.url) as ws:
            ws.send("hi"); ws.recv()
        server.wait_for_connection().wait_closed()
        server.stop(); server.check()
        if index >= 50:
            times.append(time.process_time() - started)
    print(statistics.median(times) * 1e6)
"""


def measure(checkout: Path, what: str) -> float:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, what],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds (3)")
    args = parser.parse_args()
    checkouts = {"this": ROOT}
    if args.against is not None:
        checkouts["other"] = args.against.resolve()
    for what, unit in (("echo", "us per 1 KiB echo"), ("test", "us per test cycle")):
        results: dict[str, list[float]] = {name: [] for name in checkouts}
        for _ in range(args.rounds):
            for name, path in checkouts.items():
                results[name].append(measure(path, what))
        medians = {name: statistics.median(values) for name, values in results.items()}
        line = ", ".join(f"{name} {value:.1f}" for name, value in medians.items())
        ratio = (
            f"; this / other {medians['this'] / medians['other']:.3f}x"
            if "other" in medians
            else ""
        )
        print(f"CPU {unit}: {line}{ratio}")


if __name__ == "__main__":
    main()
