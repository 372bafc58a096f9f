"""A reported number with its 95 % interval, and how that interval was made.

Two sources of uncertainty, in order of preference:

- **t over seeds** (n >= 2 replicate runs): mean +- t_{(1+level)/2, n-1} * s / sqrt(n), s the sample standard
  deviation (ddof=1). This is the interval a replicated setting gets; it covers init and data-order noise.
- **bootstrap over items** (one run): the metric is a mean of per-item 0/1 outcomes (top-1, recall@k: ``hits``
  of ``items`` evaluation items found). A percentile bootstrap resamples the ``items`` outcomes with replacement;
  the number of hits in a resample is then exactly Binomial(items, hits/items), so we draw those counts directly
  (same distribution, O(resamples) work instead of O(resamples * items)). It covers only the finite evaluation
  set, not training noise, so it is narrower than a seed interval would be. At hits = 0 or hits = items every
  resample is identical and the interval collapses to the point ( :func:`wilson_interval` does not; it is the
  tests' cross-check).

A single run of a metric that is not a hit fraction (mean per-class recall, a few-shot probe averaged over
draws) gets **no interval**: low = high = nan, and it can never be "above chance".
Values are in the metric's own scale (fractions for litlab's metrics); rendering to percent is ``format``'s job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from litlab.stats.dist import norm_ppf, t_ppf

Method = Literal["t over seeds", "bootstrap over items", "no interval"]
METHODS: tuple[Method, ...] = ("t over seeds", "bootstrap over items", "no interval")
RESAMPLES = 10_000  # bootstrap resamples: the 2.5 % quantile then sits on the 250th order statistic


@dataclass(frozen=True)
class Estimate:
    """``mean`` with the interval [``low``, ``high``] at ``level``, from ``n`` runs by ``method``.

    ``items`` is the number of evaluation items behind a bootstrap interval (None otherwise)."""

    mean: float
    low: float
    high: float
    n: int
    method: Method
    level: float = 0.95
    items: int | None = None

    @property
    def half_width(self) -> float:
        """(high - low) / 2: the "+-" of a symmetric interval (nan without one)."""
        return (self.high - self.low) / 2


def check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must lie strictly between 0 and 1, got {level!r} (e.g. 0.95)")


def as_values(values: Sequence[float], what: str = "values") -> np.ndarray:
    """(n,) float64, or a ValueError naming the first non-finite entry (a failed run must not be averaged in)."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{what}: entry {int(bad[0])} is {arr[bad[0]]!r}; every value must be a finite number")
    return arr


def t_interval(values: Sequence[float], level: float = 0.95) -> Estimate:
    """Mean +- Student-t half-width over n >= 2 replicate values (one per seed)."""
    check_level(level)
    x = as_values(values)
    if x.size < 2:
        raise ValueError(f"a t interval needs >= 2 values (one per seed), got {x.size}")
    mean, sem = float(x.mean()), float(x.std(ddof=1)) / math.sqrt(x.size)
    half = t_ppf((1 + level) / 2, x.size - 1) * sem
    return Estimate(mean, mean - half, mean + half, int(x.size), "t over seeds", level)


def check_counts(hits: int, items: int) -> None:
    if items < 1 or not 0 <= hits <= items:
        raise ValueError(f"need 0 <= hits <= items and items >= 1, got hits={hits!r}, items={items!r}")


def item_bootstrap(hits: int, items: int, level: float = 0.95, resamples: int = RESAMPLES,
                   seed: int = 0) -> Estimate:
    """Percentile bootstrap over evaluation items of a hit fraction ``hits / items`` from one run (seeded)."""
    check_level(level)
    check_counts(hits, items)
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples!r}")
    rng = np.random.default_rng(seed)
    fractions = rng.binomial(items, hits / items, size=resamples) / items  # (resamples,) resampled hit fractions
    low, high = np.quantile(fractions, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(hits / items, float(low), float(high), 1, "bootstrap over items", level, items)


def wilson_interval(hits: int, items: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (the closed form the bootstrap is checked against)."""
    check_level(level)
    check_counts(hits, items)
    z = norm_ppf((1 + level) / 2)
    p, n = hits / items, items
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def hits_of(value: float, items: int) -> int:
    """The hit count behind a hit fraction, or a ValueError if ``value * items`` is not a whole number."""
    count = value * items
    if abs(count - round(count)) > 1e-6 * max(1, items):
        raise ValueError(f"{value!r} x {items} items = {count:.4f} is not a whole number of hits; the item "
                         "bootstrap applies only to a mean of per-item 0/1 outcomes (top-1, recall@k)")
    return int(round(count))


def summarize(values: Sequence[float], *, items: int | None = None, level: float = 0.95,
              resamples: int = RESAMPLES, seed: int = 0) -> Estimate:
    """One metric over replicate runs -> Estimate.

    n >= 2: t over seeds (``items`` is ignored). n == 1 with ``items``: bootstrap over items (the value must be
    a hit fraction of ``items``). n == 1 without ``items``: the value with no interval. n == 0: ValueError."""
    x = as_values(values)
    if x.size >= 2:
        return t_interval(x, level)
    if x.size == 0:
        raise ValueError("summarize needs at least one value")
    if items is None:
        check_level(level)
        return Estimate(float(x[0]), math.nan, math.nan, 1, "no interval", level)
    return item_bootstrap(hits_of(float(x[0]), items), items, level, resamples, seed)
