"""Goal P3 of issue 12: a 16 MiB binary echo against websockets' asyncio server, and its memory.

Run it by hand from the repository root (it is not a test, and pytest does not collect it)::

    python benchmarks/bench_large.py            # 7 pairs of 3 echoes per path, about 15 s
    python benchmarks/bench_large.py --quick    # 5 pairs of 1 echo, a smoke check

It prints three figures:

- throughput, ours / websockets' asyncio server, with pytest-wsmock's fast masking path (the
  accelerator chosen at import, see ``pytest_wsmock/_protocol/_mask.py``);
- the same with the pure-Python path (``WSMOCK_PURE_PYTHON=1`` in the worker's environment);
- the server's peak RSS during one echo, over its idle RSS, as a multiple of the message size
  (websockets' server measured the same way, for reference).

Throughput: each path runs in a worker process of its own (the masking path is chosen at
import), holding both servers and websockets' sync client (``compression=None``: random data
does not compress, and the goal is about framing and masking). Rounds alternate: ours then
websockets', then websockets' then ours, and so on, each round a fresh connection echoing
``--echoes`` messages; a pair's ratio is websockets' time over ours, and the figure is the
median of ``--pairs`` pairs. Load from other processes hits both servers of a pair alike.

Memory: the server runs alone in a worker process and the client in this one, so the client's
own copies are not counted. The worker resets its peak (``/proc/self/clear_refs``), echoes once
to warm up, reads ``VmRSS`` as idle, resets the peak again, waits for one 16 MiB echo and reads
``VmHWM`` (Linux only).

Every wait is bounded (client timeouts, worker timeouts, a ``faulthandler`` deadline), and the
script asserts nothing about time: it prints measurements and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TypeVar

from _echo_servers import alternated_ratios, ours, theirs_with
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
SIZE = 16 * 2**20
TIMEOUT = 60.0  # any single client wait
GOAL_FAST, GOAL_PURE, GOAL_RSS = 1.0, 0.5, 3.0
T = TypeVar("T")


# -- servers ------------------------------------------------------------------------------


SERVERS = {"ours": ours, "websockets": theirs_with(max_size=None, timeout=TIMEOUT)}


# -- client -------------------------------------------------------------------------------


def echo_round(url: str, payload: bytes, echoes: int) -> float:
    """Seconds for ``echoes`` round trips of ``payload`` on one connection (connect excluded)."""
    with connect(
        url, compression=None, max_size=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT
    ) as ws:
        start = time.perf_counter()
        for _ in range(echoes):
            ws.send(payload)
            answer = ws.recv(timeout=TIMEOUT)
            if answer != payload:
                raise RuntimeError("the echo differs from the message sent")
        return time.perf_counter() - start


# -- workers ------------------------------------------------------------------------------


def throughput_worker(pairs: int, echoes: int) -> dict[str, object]:
    from pytest_wsmock._protocol import MASK_IMPLEMENTATION

    payload = os.urandom(SIZE)
    for factory in SERVERS.values():  # warm up: imports, arenas, the loop threads
        with factory() as url:
            echo_round(url, payload, 1)
    ratios = alternated_ratios(SERVERS, pairs, lambda url: echo_round(url, payload, echoes))
    return {"mask": MASK_IMPLEMENTATION, "ratios": ratios}


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:  # "5": reset VmHWM to VmRSS
        refs.write("5")


def memory_worker(name: str) -> None:
    """Serve one echo for warm-up, print idle RSS, serve one more, print the peak."""
    import gc

    with SERVERS[name]() as url:
        print(json.dumps({"url": url}), flush=True)
        sys.stdin.readline()  # the warm-up echo is done
        gc.collect()
        time.sleep(0.2)
        idle = _status("VmRSS")
        _reset_peak()
        print(json.dumps({"idle": idle}), flush=True)
        sys.stdin.readline()  # the measured echo is done
        print(json.dumps({"peak": _status("VmHWM")}), flush=True)


# -- driver -------------------------------------------------------------------------------


def _worker(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    full = dict(os.environ, **env)
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        env=full,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def run_throughput(pure: bool, pairs: int, echoes: int) -> dict[str, object]:
    env = {"WSMOCK_PURE_PYTHON": "1"} if pure else {"WSMOCK_PURE_PYTHON": ""}
    proc = _worker(["--worker", "throughput", "--pairs", str(pairs), "--echoes", str(echoes)], env)
    out, _ = proc.communicate(timeout=pairs * echoes * 2 * TIMEOUT)
    if proc.returncode:
        sys.exit(f"the throughput worker failed ({proc.returncode})")
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def run_memory(name: str) -> float:
    """Peak RSS over idle of the server ``name`` during one echo, in message sizes."""
    proc = _worker(["--worker", "memory", "--server", name], {})
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        url = json.loads(proc.stdout.readline())["url"]
        payload = os.urandom(SIZE)
        echo_round(url, payload, 1)
        proc.stdin.write("warm\n")
        proc.stdin.flush()
        idle = json.loads(proc.stdout.readline())["idle"]
        echo_round(url, payload, 1)
        proc.stdin.write("done\n")
        proc.stdin.flush()
        peak = json.loads(proc.stdout.readline())["peak"]
        proc.wait(TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
    return float((peak - idle) / SIZE)


def _verdict(value: float, goal: float, at_most: bool = False) -> str:
    return "MET" if (value <= goal if at_most else value >= goal) else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 pairs of 1 echo per path")
    parser.add_argument("--pairs", type=int, default=7, help="alternated pairs per path (7)")
    parser.add_argument("--echoes", type=int, default=3, help="echoes per round (3)")
    parser.add_argument("--worker", choices=("throughput", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--server", choices=tuple(SERVERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "throughput":
        print(json.dumps(throughput_worker(args.pairs, args.echoes)))
        return
    if args.worker == "memory":
        memory_worker(args.server)
        return
    pairs, echoes = (5, 1) if args.quick else (max(5, args.pairs), args.echoes)
    faulthandler.dump_traceback_later(20 * 60, exit=True)
    print(f"16 MiB binary echo, websockets' sync client, {pairs} alternated pairs of {echoes}")
    for label, pure, goal in (("fast", False, GOAL_FAST), ("pure", True, GOAL_PURE)):
        result = run_throughput(pure, pairs, echoes)
        ratios = [float(r) for r in result["ratios"]]  # type: ignore[attr-defined]
        median = statistics.median(ratios)
        spread = ", ".join(f"{r:.2f}" for r in ratios)
        print(
            f"  {label} path ({result['mask']}): ours/websockets {median:.2f}x "
            f"(goal >= {goal}: {_verdict(median, goal)}; pairs: {spread})"
        )
    with contextlib.suppress(OSError):
        for name in SERVERS:
            multiple = run_memory(name)
            verdict = f"goal <= {GOAL_RSS}: {_verdict(multiple, GOAL_RSS, True)}"
            print(
                f"  peak RSS over idle, {name}: {multiple:.2f}x the message size "
                f"({verdict if name == 'ours' else 'reference'})"
            )


if __name__ == "__main__":
    main()
