"""Sequences whose items are made when asked for: a stream's events and its release times are both read by
index (tests, recordings, the latency plan's `total`) but held in a compact form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, overload

T = TypeVar("T")


class ComputedSequence(Sequence[T]):
    """The `Sequence` protocol over `_item(index)`, which gets an index already checked and made positive."""

    __slots__ = ()
    item_name = "item"  # for the IndexError message

    def _item(self, index: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._item(position) for position in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"{self.item_name} index out of range")
        return self._item(index)
