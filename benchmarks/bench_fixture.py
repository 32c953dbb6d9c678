"""Benchmark pytest-wsmock's server against the WebSocket test servers people write by hand.

Run it by hand (it is not a test, and pytest does not collect it)::

    python benchmarks/bench_fixture.py            # full run, about 1.5 minutes
    python benchmarks/bench_fixture.py --quick    # short run, for a smoke check

It measures, in one run, on the same machine and interleaved so that noise hits every contender
alike:

(a) the per-test cost of the ``ws_server`` fixture: start a ``MockServer``, set the ``echo``
    handler, connect with websockets' sync client, send one message, receive the echo, close,
    stop the server and check it (what the fixture's teardown does); against the same test with a
    hand-written fixture on websockets' own servers.
(b) echo throughput of 1 KiB binary messages, one round trip at a time and pipelined, with
    websockets' sync and asyncio clients, against our server with ``echo`` and against websockets'
    servers running an echo handler; plus the memory the recording of such a run takes.

See benchmarks/README.md for what each number means, the baselines and the goals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import faulthandler
import gc
import importlib.metadata
import os
import platform
import resource
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection as AsyncClientConnection
from websockets.asyncio.client import connect as async_connect
from websockets.asyncio.server import Server as AsyncServer
from websockets.asyncio.server import ServerConnection as AsyncServerConnection
from websockets.asyncio.server import serve as async_serve
from websockets.sync.client import ClientConnection as SyncClientConnection
from websockets.sync.client import connect as sync_connect
from websockets.sync.server import ServerConnection as SyncServerConnection
from websockets.sync.server import serve as sync_serve

from pytest_wsmock import MockServer, ServerOptions, echo

T = TypeVar("T")

HOST = "127.0.0.1"
#: Bound of every single wait (connect, receive, close, thread join, server start and stop).
TIMEOUT = 10.0
#: Goals, as ratios of ours to the baseline (see README.md).
GOAL_FIXTURE_RATIO = 0.5  # ours' per-test cost <= 0.5 x the hand-written fixture's
GOAL_THROUGHPUT_RATIO = 1.0  # ours' messages/s >= 1.0 x the websockets server's


class BenchError(RuntimeError):
    """The benchmark could not run as designed (a wrong echo, a thread that did not stop...)."""


# -- the servers ------------------------------------------------------------------------------


@contextlib.contextmanager
def started_mock_server(compression: bool = True) -> Iterator[MockServer]:
    """Ours, the way the ``ws_server`` fixture runs it: start, ``echo``, stop, check."""
    server = MockServer(ServerOptions(deflate=compression)).start()
    try:
        server.handler(echo)
        yield server
    finally:
        server.stop()
    server.check()


@contextlib.contextmanager
def wsmock_server(compression: bool = True) -> Iterator[str]:
    with started_mock_server(compression) as server:
        yield server.url


def _sync_echo(ws: SyncServerConnection) -> None:
    for message in ws:
        ws.send(message)


async def _async_echo(ws: AsyncServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


@contextlib.contextmanager
def websockets_sync_server(compression: bool = True) -> Iterator[str]:
    """Hand-written fixture #1: websockets' threaded server, ``serve_forever()`` in a thread."""
    server = sync_serve(
        _sync_echo, HOST, 0, compression="deflate" if compression else None, max_size=None
    )
    thread = threading.Thread(target=server.serve_forever, name="bench-sync-server", daemon=True)
    thread.start()
    try:
        yield f"ws://{HOST}:{server.socket.getsockname()[1]}"
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
        if thread.is_alive():
            raise BenchError(f"websockets' sync server thread did not stop within {TIMEOUT} s")


class LoopThread:
    """An asyncio event loop running in a daemon thread (what people put in a fixture)."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result, waiting at most TIMEOUT."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    def close(self) -> None:
        # Also stop the thread that getaddrinfo() ran in (the loop's default executor).
        self.call(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        if self.thread.is_alive():
            raise BenchError(f"the asyncio loop thread did not stop within {TIMEOUT} s")
        self.loop.close()


async def _start_async_server(compression: bool) -> AsyncServer:
    server: AsyncServer = await async_serve(
        _async_echo, HOST, 0, compression="deflate" if compression else None, max_size=None
    )
    return server


async def _stop_async_server(server: AsyncServer) -> None:
    server.close()
    await server.wait_closed()


@contextlib.contextmanager
def _async_server_on(loop: LoopThread, compression: bool) -> Iterator[str]:
    server = loop.call(_start_async_server(compression))
    try:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://{HOST}:{port}"
    finally:
        loop.call(_stop_async_server(server))


@contextlib.contextmanager
def websockets_asyncio_server(compression: bool = True) -> Iterator[str]:
    """Hand-written fixture #2: a new asyncio loop in a new thread running
    ``websockets.asyncio.server.serve``, all started and stopped per test."""
    loop = LoopThread("bench-asyncio-server")
    try:
        with _async_server_on(loop, compression) as url:
            yield url
    finally:
        loop.close()


_SHARED_LOOP: LoopThread | None = None


def _shared_loop() -> LoopThread:
    global _SHARED_LOOP
    if _SHARED_LOOP is None:
        _SHARED_LOOP = LoopThread("bench-asyncio-shared-loop")
    return _SHARED_LOOP


@contextlib.contextmanager
def websockets_asyncio_shared_loop(compression: bool = True) -> Iterator[str]:
    """Hand-written fixture #3 (for information): websockets' asyncio server on one loop thread
    that lives for the whole session, as ours does; only the server is per test."""
    with _async_server_on(_shared_loop(), compression) as url:
        yield url


@dataclasses.dataclass(frozen=True)
class Contender:
    name: str
    factory: Callable[[bool], contextlib.AbstractContextManager[str]]
    baseline: bool  # a goal applies to ours against this one


OURS = Contender("pytest-wsmock MockServer + echo", wsmock_server, baseline=False)
FIXTURE_CONTENDERS = (
    OURS,
    Contender("websockets sync serve() in a thread", websockets_sync_server, baseline=True),
    Contender("websockets asyncio, loop+thread per test", websockets_asyncio_server, baseline=True),
    Contender(
        "websockets asyncio, loop per session", websockets_asyncio_shared_loop, baseline=False
    ),
)
THROUGHPUT_CONTENDERS = (
    OURS,
    Contender("websockets asyncio server", websockets_asyncio_shared_loop, baseline=True),
    Contender("websockets sync server", websockets_sync_server, baseline=True),
)


# -- helpers ----------------------------------------------------------------------------------


def rotations(items: Sequence[T], rounds: int) -> Iterator[tuple[int, Sequence[T]]]:
    """Yield ``(round, order)``: every item once per round, in an order that changes each round
    (ABC, CBA, BCA, ...) so no contender always runs first or right after the same one."""
    n = len(items)
    for r in range(rounds):
        shift = (r // 2) % n
        order = list(items[shift:]) + list(items[:shift])
        yield r, order if r % 2 == 0 else order[::-1]


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:7.1f} us"
    return f"{seconds * 1e3:7.2f} ms"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def verdict(ratio: float, goal: float, *, lower_is_better: bool) -> str:
    met = ratio <= goal if lower_is_better else ratio >= goal
    sign = "<=" if lower_is_better else ">="
    return f"{'MET' if met else 'MISSED'} (goal {sign} {goal})"


def other_threads() -> list[str]:
    return [
        t.name for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()
    ]


# -- (a) per-test cost ------------------------------------------------------------------------


def one_test(contender: Contender, compression: bool) -> float:
    """Seconds for one whole test: fixture setup, one echo over a fresh connection, teardown."""
    start = time.perf_counter()
    with contender.factory(compression) as url:
        with sync_connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
            ws.send("hello")
            reply = ws.recv(timeout=TIMEOUT)
        if reply != "hello":
            raise BenchError(f"wrong echo from {url}: {reply!r}")
    return time.perf_counter() - start


@dataclasses.dataclass
class FixtureResult:
    contender: Contender
    cold: float  # the very first test of the process with this fixture
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)


def bench_fixture(tests: int, warmup: int, rounds: int, compression: bool) -> list[FixtureResult]:
    results = {c.name: FixtureResult(c, one_test(c, compression), []) for c in FIXTURE_CONTENDERS}
    for contender in FIXTURE_CONTENDERS:
        for _ in range(warmup):
            one_test(contender, compression)
    per_round = max(1, tests // rounds)
    for _, order in rotations(FIXTURE_CONTENDERS, rounds):
        for contender in order:
            gc.collect()
            samples = results[contender.name].samples
            for _ in range(per_round):
                samples.append(one_test(contender, compression))
    return list(results.values())


def report_fixture(results: list[FixtureResult]) -> None:
    ours = results[0]
    print(f"{'fixture':<44} {'median':>10} {'mean':>10} {'p90':>10} {'cold 1st':>10}  n")
    for r in results:
        p90 = statistics.quantiles(r.samples, n=10)[-1] if len(r.samples) > 1 else r.samples[0]
        print(
            f"{r.contender.name:<44} {fmt_time(r.median):>10} {fmt_time(r.mean):>10} "
            f"{fmt_time(p90):>10} {fmt_time(r.cold):>10}  {len(r.samples)}"
        )
    print()
    for r in results[1:]:
        by_median = ours.median / r.median
        by_mean = ours.mean / r.mean
        goal = (
            "  " + verdict(by_median, GOAL_FIXTURE_RATIO, lower_is_better=True)
            if r.contender.baseline
            else "  (info)"
        )
        print(f"ours / {r.contender.name:<40} median {by_median:5.2f}x  mean {by_mean:5.2f}x{goal}")


# -- (b) throughput ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Workload:
    client: str  # "sync" or "asyncio"
    pipeline: int  # messages in flight: 1 is one round trip at a time

    @property
    def name(self) -> str:
        mode = "round trip" if self.pipeline == 1 else f"pipelined x{self.pipeline}"
        return f"{self.client} client, {mode}"


def _sync_exchange(ws: SyncClientConnection, payload: bytes, count: int, pipeline: int) -> None:
    done = 0
    while done < count:
        batch = min(pipeline, count - done)
        for _ in range(batch):
            ws.send(payload)
        for _ in range(batch):
            reply = ws.recv(timeout=TIMEOUT)
            if reply != payload:
                raise BenchError(f"wrong echo: {len(reply)} bytes instead of {len(payload)}")
        done += batch


def _client_compression(compression: bool) -> str | None:
    return "deflate" if compression else None


def run_sync_client(
    url: str, payload: bytes, count: int, warmup: int, pipeline: int, compression: bool
) -> float:
    """Messages per second of the sync client echoing ``count`` messages."""
    with sync_connect(
        url,
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        max_size=None,
        compression=_client_compression(compression),
    ) as ws:
        _sync_exchange(ws, payload, warmup, pipeline)
        start = time.perf_counter()
        _sync_exchange(ws, payload, count, pipeline)
        elapsed = time.perf_counter() - start
    return count / elapsed


async def _async_exchange(
    ws: AsyncClientConnection, payload: bytes, count: int, pipeline: int
) -> None:
    done = 0
    while done < count:
        batch = min(pipeline, count - done)
        for _ in range(batch):
            await ws.send(payload)
        for _ in range(batch):
            reply = await ws.recv()
            if reply != payload:
                raise BenchError(f"wrong echo: {len(reply)} bytes instead of {len(payload)}")
        done += batch


async def _async_client(
    url: str, payload: bytes, count: int, warmup: int, pipeline: int, compression: bool
) -> float:
    async with async_connect(
        url,
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        max_size=None,
        compression=_client_compression(compression),
    ) as ws:
        await _async_exchange(ws, payload, warmup, pipeline)
        start = time.perf_counter()
        await _async_exchange(ws, payload, count, pipeline)
        elapsed = time.perf_counter() - start
    return count / elapsed


def run_async_client(
    url: str, payload: bytes, count: int, warmup: int, pipeline: int, compression: bool
) -> float:
    """Messages per second of the asyncio client (on a new loop in this thread)."""
    # A bound on the whole run (the asyncio client's recv() has no timeout): generous, no hang.
    bound = TIMEOUT + (count + warmup) * 0.01
    return asyncio.run(
        asyncio.wait_for(_async_client(url, payload, count, warmup, pipeline, compression), bound)
    )


def run_workload(
    workload: Workload, url: str, payload: bytes, count: int, warmup: int, compression: bool
) -> float:
    runner = run_sync_client if workload.client == "sync" else run_async_client
    return runner(url, payload, count, warmup, workload.pipeline, compression)


@dataclasses.dataclass
class ThroughputResult:
    workload: Workload
    rates: dict[str, list[float]]  # contender name -> messages/s of each repeat


def bench_throughput(
    workloads: Sequence[Workload],
    messages: int,
    repeats: int,
    payload: bytes,
    compression: bool,
) -> list[ThroughputResult]:
    warmup = max(20, messages // 20)
    results = []
    for workload in workloads:
        rates: dict[str, list[float]] = {c.name: [] for c in THROUGHPUT_CONTENDERS}
        for _, order in rotations(THROUGHPUT_CONTENDERS, repeats):
            for contender in order:
                gc.collect()
                # A fresh server per measurement: our recording starts empty every time.
                with contender.factory(compression) as url:
                    rates[contender.name].append(
                        run_workload(workload, url, payload, messages, warmup, compression)
                    )
        results.append(ThroughputResult(workload, rates))
    return results


def report_throughput(results: list[ThroughputResult]) -> None:
    names = [c.name for c in THROUGHPUT_CONTENDERS]
    header = "".join(f"{n[:26]:>28}" for n in names)
    print(f"{'workload (median msg/s of repeats)':<34}{header}")
    for res in results:
        row = "".join(f"{statistics.median(res.rates[n]):>28,.0f}" for n in names)
        print(f"{res.workload.name:<34}{row}")
    print()
    for res in results:
        ours = statistics.median(res.rates[OURS.name])
        for c in THROUGHPUT_CONTENDERS[1:]:
            ratio = ours / statistics.median(res.rates[c.name])
            print(
                f"{res.workload.name:<30} ours / {c.name:<26} {ratio:5.2f}x  "
                + verdict(ratio, GOAL_THROUGHPUT_RATIO, lower_is_better=False)
            )
    print()
    spread = [max(v) / min(v) - 1 for res in results for v in res.rates.values() if min(v) > 0]
    print(
        f"spread of repeats (max/min - 1): median {statistics.median(spread):.0%}, "
        f"worst {max(spread):.0%}"
    )


# -- memory of the recording ------------------------------------------------------------------


def _measure_heap(url: str, payload: bytes, messages: int, compression: bool) -> tuple[int, int]:
    """(peak, held) bytes of Python heap over a sync round-trip run against ``url``: the peak
    during the run, and what is still allocated after the client closed."""
    gc.collect()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    run_sync_client(url, payload, messages, 0, 1, compression)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    return peak - before, held - before


def bench_memory(messages: int, payload: bytes, compression: bool) -> None:
    """Python heap (tracemalloc traces every thread) of a sync round-trip run, per server. For
    ours, "held" is mostly the recording of every frame and message, which the server keeps
    until the test ends."""
    print(f"{'server':<44} {'peak':>12} {'held after close':>18}  recorded")
    tracemalloc.start()
    try:
        with started_mock_server(compression) as server:
            peak, held = _measure_heap(server.url, payload, messages, compression)
            conn = server.connections[-1]
            recorded = f"{len(conn.frames)} frames, {len(conn.messages)} messages"
        print(f"{OURS.name:<44} {fmt_bytes(peak):>12} {fmt_bytes(held):>18}  {recorded}")
        baseline = THROUGHPUT_CONTENDERS[1]
        with baseline.factory(compression) as url:
            peak, held = _measure_heap(url, payload, messages, compression)
        print(f"{baseline.name:<44} {fmt_bytes(peak):>12} {fmt_bytes(held):>18}  -")
    finally:
        tracemalloc.stop()
    print(
        f"(payload sent + echoed: {fmt_bytes(2 * messages * len(payload))}; "
        f"process peak RSS so far: {fmt_bytes(_max_rss())})"
    )


def _max_rss() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage if sys.platform == "darwin" else usage * 1024


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short run (smoke check)")
    parser.add_argument("--tests", type=int, help="per-test cost: tests per fixture (200)")
    parser.add_argument("--messages", type=int, help="throughput: messages per run (5000)")
    parser.add_argument("--repeats", type=int, help="throughput: runs per contender (5)")
    parser.add_argument("--pipeline", type=int, default=32, help="messages in flight (32)")
    parser.add_argument("--size", type=int, default=1024, help="message size in bytes (1024)")
    parser.add_argument(
        "--no-compression",
        action="store_true",
        help="neither side negotiates permessage-deflate (by default both do, as by default in "
        "websockets and in pytest-wsmock)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument(
        "--deadline", type=float, help="abort (with stack traces) after this many seconds"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.tests = args.tests or (30 if quick else 200)
    args.messages = args.messages or (500 if quick else 5000)
    args.repeats = args.repeats or (2 if quick else 5)
    args.deadline = args.deadline or (300.0 if quick else 1800.0)
    for name in ("tests", "messages", "repeats", "pipeline", "size"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    compression = not args.no_compression
    # Never hang: past the deadline, dump every thread's stack and exit.
    faulthandler.dump_traceback_later(args.deadline, exit=True)
    payload = os.urandom(args.size)

    print(
        f"pytest-wsmock benchmark: Python {platform.python_version()}, "
        f"websockets {importlib.metadata.version('websockets')}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, compression {'deflate' if compression else 'off'}"
        f"{', QUICK run' if args.quick else ''}"
    )
    threads_before = set(other_threads())
    started = time.perf_counter()

    rounds = min(10, args.tests)
    print()
    print(
        f"(a) per-test cost: setup + connect + 1 echo + close + teardown, sync client; "
        f"{args.tests} tests per fixture in {rounds} interleaved rounds, after warm-up"
    )
    fixture_results = bench_fixture(args.tests, max(5, args.tests // 10), rounds, compression)
    report_fixture(fixture_results)

    workloads = [
        Workload("sync", 1),
        Workload("sync", args.pipeline),
        Workload("asyncio", 1),
        Workload("asyncio", args.pipeline),
    ]
    print()
    print(
        f"(b) echo throughput, {fmt_bytes(args.size)} binary messages: {args.messages} per run, "
        f"{args.repeats} interleaved runs per server, a fresh server and connection per run"
    )
    report_throughput(
        bench_throughput(workloads, args.messages, args.repeats, payload, compression)
    )

    if not args.no_memory:
        print()
        print(
            f"(c) memory (info), tracemalloc over all threads, sync client, {args.messages} "
            f"round trips of {fmt_bytes(args.size)}"
        )
        bench_memory(args.messages, payload, compression)

    if _SHARED_LOOP is not None:
        _SHARED_LOOP.close()
    _check_threads(threads_before)
    print()
    print(f"total time {time.perf_counter() - started:.1f} s")
    faulthandler.cancel_dump_traceback_later()
    return 0


def _check_threads(before: set[str]) -> None:
    """Every thread the benchmark started must have stopped."""
    deadline = time.monotonic() + 2.0
    while True:
        left = set(other_threads()) - before
        # pytest-wsmock's loop thread and its getaddrinfo() executor live until exit, by design.
        left = {name for name in left if not name.startswith(("asyncio-portal-", "asyncio_"))}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if left:
        print(f"WARNING: threads still running at the end: {sorted(left)}")


if __name__ == "__main__":
    sys.exit(main())
