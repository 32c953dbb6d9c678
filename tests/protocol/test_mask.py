"""The masking paths: every accelerator gives the pure path's bytes, and the choice at import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_wsmock._protocol import _mask
from pytest_wsmock._protocol._mask import ACCELERATORS, PURE_PYTHON_ENV, load_masker, pure_mask

ROOT = Path(__file__).resolve().parents[2]
KEYS = st.binary(min_size=4, max_size=4)
# Sizes on both sides of every threshold (4 KiB: translate and numpy), with 0-3 trailing bytes.
SIZES = st.one_of(
    st.integers(0, 64),
    st.integers(4090, 4100),
    st.integers(0, 4096).map(lambda words: words * 4),
    st.builds(lambda words, rest: words * 4 + rest, st.integers(0, 20_000), st.integers(0, 3)),
)


def naive_mask(data: bytes, key: bytes) -> bytes:
    return bytes(byte ^ key[index % 4] for index, byte in enumerate(data))


def _masker(name: str) -> _mask.Masker:
    try:
        return load_masker(name)
    except ImportError:
        pytest.skip(f"{name} is not installed")


def _data(size: int, seed: int) -> bytes:
    return (bytes(range(seed % 256, 256)) + bytes(range(seed % 256))) * (size // 256 + 1)


@pytest.mark.parametrize("name", list(ACCELERATORS))
@settings(max_examples=150, deadline=None)
@given(size=SIZES, key=KEYS, seed=st.integers(0, 255), offset=st.integers(0, 3))
def test_accelerated_masking_equals_the_pure_path(
    name: str, size: int, key: bytes, seed: int, offset: int
) -> None:
    """Each accelerator, forced, gives the bytes of the pure path (forced too) and of a
    per-byte loop, for bytes, bytearray and an unaligned memoryview."""
    accelerated = _masker(name)
    data = _data(size + offset, seed)[offset : offset + size]
    expected = naive_mask(data, key)
    assert pure_mask(data, key) == expected
    assert accelerated(data, key) == expected
    assert accelerated(bytearray(data), key) == expected
    unaligned = memoryview(_data(size + offset, seed))[offset : offset + size]
    assert accelerated(unaligned, key) == naive_mask(bytes(unaligned), key)
    assert pure_mask(unaligned, key) == naive_mask(bytes(unaligned), key)


@pytest.mark.parametrize("name", list(ACCELERATORS))
def test_accelerated_masking_returns_bytes(name: str) -> None:
    result = _masker(name)(bytearray(5000), b"\x01\x02\x03\x04")
    assert type(result) is bytes
    assert result[:5] == b"\x01\x02\x03\x04\x01"


def _implementation(pure: str | None) -> str:
    env = {key: value for key, value in os.environ.items() if key != PURE_PYTHON_ENV}
    if pure is not None:
        env[PURE_PYTHON_ENV] = pure
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    code = (
        "import os, sys\n"
        "from pytest_wsmock._protocol import MASK_IMPLEMENTATION, apply_mask\n"
        "assert apply_mask(bytes(8192), b'abcd') == b'abcd' * 2048\n"
        "print(MASK_IMPLEMENTATION, 'numpy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_environment_variable_selects_the_pure_path() -> None:
    """WSMOCK_PURE_PYTHON=1 makes the choice at import "python", and no accelerator is
    imported even for a large payload; "0" or "" leaves the accelerators in."""
    assert _implementation("1") == "python False"
    default = _implementation(None)
    assert _implementation("0") == default
    assert _implementation("") == default
    if default.startswith("python"):
        pytest.skip("no accelerator is installed here")
    assert default.split()[0] in ACCELERATORS


def test_the_choice_prefers_websockets_speedups() -> None:
    """The first installed accelerator in the documented order is the one in use."""
    if PURE_PYTHON_ENV in os.environ:
        pytest.skip(f"{PURE_PYTHON_ENV} is set for this run")
    installed = []
    for name in ACCELERATORS:
        try:
            load_masker(name)
        except ImportError:
            continue
        installed.append(name)
    assert (installed[0] if installed else "python") == _mask.MASK_IMPLEMENTATION
