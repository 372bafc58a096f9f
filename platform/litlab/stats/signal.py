""""No signal": a number is clearly above chance only when its whole interval is.

A setting is above chance when its interval's lower bound exceeds the chance level (litlab.stats.chance). A
column where no setting is above chance carries no signal: its numbers, and any verdict drawn from them, show
noise around chance and must be marked so, not presented as a result. A single run without an interval (nan
bounds) is never above chance.
"""

from __future__ import annotations

from collections.abc import Iterable

from litlab.stats.estimate import Estimate


def above_chance(estimate: Estimate, chance: float) -> bool:
    """The interval's lower bound > chance (False when there is no interval)."""
    return estimate.low > chance  # nan > x is False


def any_above_chance(estimates: Iterable[Estimate], chance: float) -> bool:
    """Whether any setting of a column is clearly above chance; False means the column shows no signal."""
    return any(above_chance(e, chance) for e in estimates)
