"""``limit`` options of the shipped sources: a few items spread evenly over the whole, deterministic order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def evenly_spaced(items: Sequence[T], limit: int) -> list[T]:
    """All of ``items`` when ``limit`` is 0 (or >= their number), else ``limit`` of them evenly spaced, so a
    quick build still spans every category of a source listed category by category."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0 (0 = all), got {limit}")
    if limit == 0 or limit >= len(items):
        return list(items)
    return [items[i * len(items) // limit] for i in range(limit)]
