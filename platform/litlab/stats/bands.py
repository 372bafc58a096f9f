"""Bands for curves: at every x (a training step), the t interval over the seeds that logged a value there."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from litlab.stats.estimate import check_level, t_interval


@dataclass(frozen=True)
class Band:
    """Per x: mean, interval [low, high] at ``level`` (t over the ``n`` seeds there; nan where n < 2)."""

    x: tuple[float, ...]
    mean: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    n: tuple[int, ...]
    level: float = 0.95


def band(x: Sequence[float], runs: Sequence[Sequence[float]], level: float = 0.95) -> Band:
    """A band over replicate curves ``runs`` (seeds, len(x)) sharing the steps ``x``.

    A run that did not log some step carries nan there; each x is summarised over the runs that have it, so
    n can vary along the curve (a run that stopped early). x with no value in any run is dropped."""
    check_level(level)
    xs = np.asarray(x, dtype=np.float64)  # (S,)
    ys = np.asarray(runs, dtype=np.float64)  # (R, S)
    if ys.ndim != 2 or ys.shape[1] != xs.size:
        raise ValueError(f"runs must be (seeds, {xs.size}) to match x; got shape {ys.shape}")
    if np.isinf(ys).any():
        raise ValueError("runs contain an infinite value; mark a missing step with nan")
    rows: list[tuple[float, float, float, float, int]] = []
    for j in range(xs.size):
        col = ys[:, j][np.isfinite(ys[:, j])]  # (n,) the seeds that logged step j
        if col.size >= 2:
            e = t_interval(col, level)
            rows.append((float(xs[j]), e.mean, e.low, e.high, e.n))
        elif col.size == 1:
            rows.append((float(xs[j]), float(col[0]), math.nan, math.nan, 1))
    if not rows:
        return Band((), (), (), (), (), level)
    cx, mean, low, high, n = zip(*rows, strict=True)
    return Band(cx, mean, low, high, n, level)
