"""Chance levels and "no signal" for a study's metric columns, and the bands its curves carry.

A column's chance level is what its runs logged (``chance/<metric>``, litlab.evaluators.facts). A column has
signal when at least one setting's 95 % interval lies wholly above chance (litlab.stats.any_above_chance); one
with none is marked "no signal" in its header, and no verdict is drawn from it: its numbers are noise around
chance, not a result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from litlab.stats import above_chance, band

from ablations.report_groups import Group, chance_level
from ablations.report_model import Series

NO_SIGNAL = "no signal"


@dataclass(frozen=True)
class Signal:
    """A metric column: its chance level (None: not logged), how many settings have a value, which are above."""

    key: str | None
    chance: float | None
    measured: int
    above: tuple[str, ...]

    @property
    def none(self) -> bool:
        """True when the column is known to carry no signal: a chance level, settings measured, none above it."""
        return self.chance is not None and self.measured > 0 and not self.above

    def header(self, label: str, dataset: str) -> str:
        """E.g. "ours 0-shot top-1 % (fmnist-test; chance 10.0)", "...; chance 0.6; no signal)"."""
        if self.chance is None:
            return f"{label} ({dataset}; chance not logged)"
        return f"{label} ({dataset}; chance {100 * self.chance:.1f}{'; ' + NO_SIGNAL if self.none else ''})"

    def note(self, dataset: str) -> str | None:
        """The explanation a no-signal column gets among the study's notes."""
        if not self.none:
            return None
        return (f"{NO_SIGNAL.capitalize()} on `{self.key}`: no setting's 95 % interval lies above chance "
                f"({100 * (self.chance or 0):.1f} %), so its values are noise around chance, not a result, and no "
                f"verdict is drawn from them ({dataset}).")


def signal_of(groups: Mapping[str, Group], key: str | None) -> Signal:
    """The signal of metric ``key`` over the settings ``groups`` (label -> group) shown in one column."""
    if key is None:
        return Signal(None, None, 0, ())
    chance = chance_level(list(groups.values()), key)
    ests = {label: e for label, g in groups.items() if (e := g.estimate(key)) is not None}
    above = tuple(label for label, e in ests.items() if chance is not None and above_chance(e, chance))
    return Signal(key, chance, len(ests), above)


def banded(label: str, by_x: Mapping[float, Sequence[float]], scale: float = 100.0) -> Series | None:
    """A curve over x of per-seed values: the mean and a 95 % t band over the seeds at each x (litlab.stats.band);
    None when no x has a value."""
    xs = sorted(x for x, v in by_x.items() if len(v))
    if not xs:
        return None
    width = max(len(by_x[x]) for x in xs)
    runs = np.full((width, len(xs)), np.nan)  # (seeds, x): a seed with no value at some x stays nan there
    for j, x in enumerate(xs):
        runs[: len(by_x[x]), j] = by_x[x]
    b = band(xs, runs)
    return Series(label, tuple((x, m * scale) for x, m in zip(b.x, b.mean, strict=True)),
                  tuple(v * scale for v in b.low), tuple(v * scale for v in b.high), b.n)

