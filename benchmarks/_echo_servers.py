"""The two echo servers the throughput benchmarks alternate (bench_small.py, bench_large.py):
pytest-wsmock's ``ws_server`` with ``echo``, and websockets' asyncio server with an echo
handler on a loop thread of its own, both in this process as in a test suite. Neither
negotiates compression."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from websockets.asyncio.server import Server, ServerConnection, serve

HOST = "127.0.0.1"
T = TypeVar("T")


@contextlib.contextmanager
def ours() -> Iterator[str]:
    """A pytest-wsmock server echoing every message; its URL."""
    from pytest_wsmock import MockServer, ServerOptions, echo

    server = MockServer(ServerOptions(deflate=False)).start()
    try:
        server.handler(echo)
        yield server.url
    finally:
        server.stop()
    server.check()


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


_LOOP: _LoopThread | None = None


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def _start(max_size: int | None) -> Server:
    server: Server = await serve(_echo, HOST, 0, compression=None, max_size=max_size)
    return server


async def _stop(server: Server) -> None:
    server.close()
    await server.wait_closed()


def theirs_with(
    *, max_size: int | None = 2**20, timeout: float = 10.0
) -> Callable[[], contextlib.AbstractContextManager[str]]:
    """websockets' asyncio echo server (its message limit ``max_size``; ``timeout`` bounds
    starting and stopping it), as a context manager factory giving its URL."""

    @contextlib.contextmanager
    def theirs() -> Iterator[str]:
        global _LOOP
        if _LOOP is None:
            _LOOP = _LoopThread()
        server = _LOOP.call(_start(max_size), timeout)
        try:
            yield f"ws://{HOST}:{next(iter(server.sockets)).getsockname()[1]}"
        finally:
            _LOOP.call(_stop(server), timeout)

    return theirs


Servers = dict[str, Callable[[], contextlib.AbstractContextManager[str]]]


def alternated_ratios(servers: Servers, pairs: int, timed: Callable[[str], float]) -> list[float]:
    """``pairs`` ratios websockets' time / ours, each from one round on a fresh server of each
    kind, ``timed(url)`` timing a round; the order alternates (ours first, then theirs first) so
    the machine's drift hits both alike."""
    ratios = []
    for index in range(pairs):
        order = ("ours", "websockets") if index % 2 == 0 else ("websockets", "ours")
        times = {}
        for name in order:
            with servers[name]() as url:
                times[name] = timed(url)
        ratios.append(times["websockets"] / times["ours"])
    return ratios
