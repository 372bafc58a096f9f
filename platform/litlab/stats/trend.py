"""A monotone-trend claim over seeds, e.g. "zero-shot top-1 increases with batch size".

Test: ordinary least-squares slope of the metric on x, every seed's run one point (runs are independent), and
Student's t-test of slope = 0 with n - 2 degrees of freedom (two-sided). x is taken on a log2 scale by default,
as batch sizes and step counts grow geometrically. Rule at alpha: p < alpha with the slope's sign in the
claimed direction -> agrees; opposite sign -> disagrees; otherwise inconclusive.
Like every verdict it rests on replicates: each x needs >= 2 seeds, and there must be >= 2 distinct x.
No residual at all (every point exactly on the line): p = 0 if the slope is not 0, else p = 1.

This tests the overall direction, not that every single step goes up; "increases at every step" is the chain
claim "bs8 < bs16 < bs32" (litlab.stats.claims.chain, Welch per step with Holm).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from litlab.stats.compare import VerdictWord, check_alpha
from litlab.stats.dist import t_ppf, t_sf
from litlab.stats.estimate import as_values

Direction = Literal["increasing", "decreasing"]
XScale = Literal["linear", "log2"]
DIRECTIONS: tuple[Direction, ...] = ("increasing", "decreasing")
X_SCALES: tuple[XScale, ...] = ("linear", "log2")
SLOPE_TEST = "OLS slope t-test over seeds (two-sided)"


@dataclass(frozen=True)
class TrendVerdict:
    """The verdict on "``what`` is ``direction`` in ``x_label``": slope (metric units per unit of x on
    ``x_scale``), its 1 - alpha interval, the p-value, and the seeds ``n`` at each ``x``."""

    verdict: VerdictWord
    what: str
    direction: Direction
    test: str
    x_scale: XScale
    p: float
    slope: float
    ci_of_slope: tuple[float, float]
    x: tuple[float, ...]
    n: tuple[int, ...]
    alpha: float
    reason: str
    x_label: str = "x"


def _slope_test(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """(slope, half-width of its 1 - alpha interval, two-sided p) of y on x by least squares."""
    if y.min() == y.max():
        return 0.0, 0.0, 1.0  # every run gave the same value (exactly; the mean of equal floats may not be)
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ (y - y.mean())) / sxx
    resid = y - y.mean() - slope * xc
    df = x.size - 2
    se = math.sqrt(float(resid @ resid) / df / sxx)
    if se == 0.0:
        return slope, 0.0, float(slope == 0.0)
    p = 2 * t_sf(abs(slope / se), df)
    return slope, se * t_ppf(1 - alpha / 2, df), p


def _checked(values_by_x: Mapping[float, Sequence[float]], direction: str, x_scale: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}; valid: {', '.join(DIRECTIONS)}")
    if x_scale not in X_SCALES:
        raise ValueError(f"unknown x_scale {x_scale!r}; valid: {', '.join(X_SCALES)}")
    if x_scale == "log2" and any(float(x) <= 0 for x in values_by_x):
        raise ValueError(f"x_scale='log2' needs every x > 0, got {sorted(values_by_x)}")


def trend(values_by_x: Mapping[float, Sequence[float]], direction: Direction = "increasing", alpha: float = 0.05,
          x_scale: XScale = "log2", what: str = "metric", x_label: str = "x") -> TrendVerdict:
    """Test that the metric is ``direction`` in x; ``values_by_x`` maps each x to its per-seed values."""
    check_alpha(alpha)
    _checked(values_by_x, direction, x_scale)
    xs = sorted(float(x) for x in values_by_x)
    cols = {float(x): as_values(v, f"values at x={x}") for x, v in values_by_x.items()}
    ns = tuple(int(cols[x].size) for x in xs)
    test = f"{SLOPE_TEST}, x on a {x_scale} scale"
    nan = math.nan
    if len(xs) < 2 or min(ns, default=0) < 2:
        reason = f"needs >= 2 seeds at each of >= 2 x values (n={'/'.join(map(str, ns)) or 0})"
        return TrendVerdict("inconclusive", what, direction, test, x_scale, nan, nan, (nan, nan), tuple(xs), ns,
                            alpha, reason, x_label)
    x = np.concatenate([np.full(cols[v].size, math.log2(v) if x_scale == "log2" else v) for v in xs])  # (n,)
    y = np.concatenate([cols[v] for v in xs])  # (n,)
    slope, half, p = _slope_test(x, y, alpha)
    if not p < alpha or slope == 0.0:
        verdict: VerdictWord = "inconclusive"
        reason = f"p >= {alpha:g}: the slope is within seed noise"
    else:
        verdict = "agrees" if (slope > 0) == (direction == "increasing") else "disagrees"
        reason = f"p < {alpha:g}, slope {'in the claimed' if verdict == 'agrees' else 'in the opposite'} direction"
    return TrendVerdict(verdict, what, direction, test, x_scale, p, slope, (slope - half, slope + half), tuple(xs),
                        ns, alpha, reason, x_label)
