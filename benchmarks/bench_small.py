"""Goal P2 of issue 12: 1 KiB echo throughput against websockets' asyncio server.

Run it by hand from the repository root (it is not a test, and pytest does not collect it)::

    python benchmarks/bench_small.py            # 7 pairs of 2,000 messages per workload, ~1 min
    python benchmarks/bench_small.py --quick    # 5 pairs of 300 messages, a smoke check

Four workloads, each printed as a ratio of throughputs, ours / websockets' asyncio server:
websockets' sync client and its asyncio client, each sending one message at a time (send, then
receive the echo) and pipelined (``--pipeline`` messages sent, then as many received).

Both servers run in this process, as they do in a test suite (pytest-wsmock on its own event-loop
thread with ``echo``; websockets' asyncio server with an echo handler on a loop thread of its
own), so they share the GIL with the client. Messages are random bytes (binary) and neither side
negotiates compression (random data does not compress; the goal is about the per-message path).
Rounds alternate: ours then websockets', then websockets' then ours, each round a fresh server
and connection echoing ``--messages`` messages after a short warm-up; a pair's ratio is
websockets' time over ours, and the figure is the median of ``--pairs`` pairs. Every echo is
checked byte for byte, so the mock's record holds every frame and message as usual.

Every wait is bounded (client timeouts, ``asyncio.wait_for``, a ``faulthandler`` deadline), and
the script asserts nothing about time: it prints measurements and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from _echo_servers import alternated_ratios, ours, theirs_with
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's pytest_wsmock, not an installed one
TIMEOUT = 10.0
GOAL = 1.0
T = TypeVar("T")


# -- servers ------------------------------------------------------------------------------


SERVERS = {"ours": ours, "websockets": theirs_with(timeout=TIMEOUT)}


# -- clients ------------------------------------------------------------------------------


def sync_round(url: str, payload: bytes, count: int, pipeline: int) -> float:
    """Seconds for ``count`` echoes on one connection (connect and warm-up excluded)."""
    with connect(url, compression=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        for _ in range(10):
            ws.send(payload)
            ws.recv(timeout=TIMEOUT)
        start = time.perf_counter()
        for done in range(0, count, pipeline):
            batch = min(pipeline, count - done)
            for _ in range(batch):
                ws.send(payload)
            for _ in range(batch):
                if ws.recv(timeout=TIMEOUT) != payload:
                    raise RuntimeError("the echo differs from the message sent")
        return time.perf_counter() - start


async def _async_round(url: str, payload: bytes, count: int, pipeline: int) -> float:
    async with async_connect(
        url, compression=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT
    ) as ws:
        for _ in range(10):
            await ws.send(payload)
            await ws.recv()
        start = time.perf_counter()
        for done in range(0, count, pipeline):
            batch = min(pipeline, count - done)
            for _ in range(batch):
                await ws.send(payload)
            for _ in range(batch):
                if await ws.recv() != payload:
                    raise RuntimeError("the echo differs from the message sent")
        return time.perf_counter() - start


def async_round(url: str, payload: bytes, count: int, pipeline: int) -> float:
    bound = TIMEOUT + count * 0.01
    return asyncio.run(asyncio.wait_for(_async_round(url, payload, count, pipeline), bound))


Client = Callable[[str, bytes, int, int], float]
WORKLOADS: dict[str, tuple[Client, bool]] = {
    "sync client, one at a time": (sync_round, False),
    "sync client, pipelined": (sync_round, True),
    "asyncio client, one at a time": (async_round, False),
    "asyncio client, pipelined": (async_round, True),
}


def measure(client: Client, pipeline: int, pairs: int, count: int, size: int) -> list[float]:
    payload = os.urandom(size)
    return alternated_ratios(SERVERS, pairs, lambda url: client(url, payload, count, pipeline))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 pairs of 300 messages")
    parser.add_argument("--pairs", type=int, default=7, help="alternated pairs (7, at least 5)")
    parser.add_argument("--messages", type=int, default=2000, help="messages per round (2000)")
    parser.add_argument("--pipeline", type=int, default=32, help="messages in flight (32)")
    parser.add_argument("--size", type=int, default=1024, help="message size in bytes (1024)")
    parser.add_argument("--only", help="run the workloads whose name contains this")
    args = parser.parse_args()
    pairs, count = (5, 300) if args.quick else (max(5, args.pairs), args.messages)
    faulthandler.dump_traceback_later(20 * 60, exit=True)
    warm_ups: tuple[Client, ...] = (sync_round, async_round)
    for client in warm_ups:  # warm up: imports, the loop threads
        for factory in SERVERS.values():
            with factory() as url:
                client(url, os.urandom(args.size), 50, 1)
    print(f"{args.size} B binary echo, ours / websockets' asyncio server, {pairs} pairs of {count}")
    for label, (client, pipelined) in WORKLOADS.items():
        if args.only and args.only not in label:
            continue
        depth = args.pipeline if pipelined else 1
        ratios = measure(client, depth, pairs, count, args.size)
        median = statistics.median(ratios)
        verdict = "MET" if median >= GOAL else "MISSED"
        spread = ", ".join(f"{r:.2f}" for r in ratios)
        name = f"{label} (x{depth})" if pipelined else label
        print(f"  {name:36} {median:.2f}x (goal >= {GOAL}: {verdict}; pairs: {spread})")


if __name__ == "__main__":
    main()
