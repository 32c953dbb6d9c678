"""An immutable, ordered, case-insensitive multi-dict for HTTP header fields."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["Headers"]


class Headers:
    """Immutable ordered multi-dict; case-insensitive look-up, original spelling and order kept.

    A mock server must be able to report exactly what a client sent (and write
    exactly what a test asked for), so names keep their spelling and repeated
    fields stay separate; only look-ups ignore case (RFC 9110 section 5.1).

    Args:
        items: ``(name, value)`` pairs, in wire order.
    """

    __slots__ = ("_items",)

    _items: tuple[tuple[str, str], ...]

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = tuple((str(name), str(value)) for name, value in items)

    @property
    def items(self) -> tuple[tuple[str, str], ...]:
        """All ``(name, value)`` pairs in wire order, names spelt as received."""
        return self._items

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of ``name`` (case-insensitive), or ``default``."""
        lowered = name.lower()
        for key, value in self._items:
            if key.lower() == lowered:
                return value
        return default

    def __getitem__(self, name: str) -> str:
        """The first value of ``name`` (case-insensitive).

        Raises:
            KeyError: no such header.
        """
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def get_all(self, name: str) -> list[str]:
        """Return every value of ``name`` (case-insensitive), in wire order."""
        lowered = name.lower()
        return [value for key, value in self._items if key.lower() == lowered]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        lowered = name.lower()
        return any(key.lower() == lowered for key, _ in self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"

    def with_added(self, name: str, value: str) -> Headers:
        """Return a copy with ``name: value`` appended."""
        return Headers((*self._items, (name, value)))

    def without(self, name: str) -> Headers:
        """Return a copy with every field called ``name`` (case-insensitive) removed."""
        lowered = name.lower()
        return Headers(item for item in self._items if item[0].lower() != lowered)

    def replaced(self, name: str, value: str) -> Headers:
        """Return a copy where ``name`` has the single value ``value``.

        The first occurrence is replaced in place (keeping its position, with the
        new spelling of ``name``), later occurrences are removed; the field is
        appended when absent.
        """
        lowered = name.lower()
        result: list[tuple[str, str]] = []
        done = False
        for item in self._items:
            if item[0].lower() == lowered:
                if not done:
                    result.append((name, value))
                    done = True
            else:
                result.append(item)
        if not done:
            result.append((name, value))
        return Headers(result)
