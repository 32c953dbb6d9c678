"""Measure the masking paths' throughput on 1 MiB against a per-byte loop.

Run with ``python benchmarks/bench_mask.py``.
"""

from __future__ import annotations

import contextlib
import os
import time
import timeit
from collections.abc import Callable

from pytest_wsmock._protocol._mask import ACCELERATORS, load_masker, pure_mask

SIZE = 1 << 20
KEY = b"\x37\xfa\x21\x3d"

Masker = Callable[[bytes, bytes], bytes]


def naive_mask(data: bytes, key: bytes) -> bytes:
    """The baseline: XOR one byte at a time in Python."""
    return bytes(byte ^ key[index % 4] for index, byte in enumerate(data))


def throughput(mask: Masker, data: bytes, repeat: int = 7) -> float:
    """Best MB/s (10**6 bytes per second) over ``repeat`` timed batches of calls."""
    # Size each batch to last about 0.2 s, so slow and fast candidates are timed alike.
    start = time.perf_counter()
    mask(data, KEY)
    number = max(1, int(0.2 / max(time.perf_counter() - start, 1e-9)))
    best = min(timeit.repeat(lambda: mask(data, KEY), number=number, repeat=repeat)) / number
    return len(data) / best / 1e6


def main() -> None:
    data = os.urandom(SIZE)
    candidates: dict[str, Masker] = {"pytest_wsmock pure path": pure_mask}
    for name in ACCELERATORS:
        with contextlib.suppress(ImportError):
            candidates[f"pytest_wsmock {name} path"] = load_masker(name)
    expected = naive_mask(data, KEY)
    for name, mask in candidates.items():
        assert mask(data, KEY) == expected, name
    baseline = throughput(naive_mask, data, repeat=3)
    print(f"apply_mask on {SIZE} bytes (1 MiB), best of repeated batches:")
    print(f"  {'naive per-byte loop (baseline)':38} {baseline:10.1f} MB/s   1.0x")
    for name, mask in candidates.items():
        rate = throughput(mask, data)
        print(f"  {name:38} {rate:10.1f} MB/s {rate / baseline:6.1f}x")


if __name__ == "__main__":
    main()
