"""The backoff schedule, on its own (no server needed)."""

from __future__ import annotations

from feedclient import Backoff


def test_backoff_doubles_up_to_its_maximum_with_optional_jitter() -> None:
    """The delays are initial * factor ** n, capped; jitter keeps between half and all."""
    backoff = Backoff(initial=1.0, factor=2.0, maximum=5.0, jitter=False)
    assert [backoff.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    jittered = Backoff(initial=1.0, factor=2.0, maximum=5.0)
    assert jittered.delay(3, rand=lambda: 0.0) == 2.0
    assert jittered.delay(3, rand=lambda: 1.0) == 4.0
