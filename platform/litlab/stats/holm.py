"""Holm–Bonferroni step-down adjustment of a family of p-values (the links of one claim).

Sort the m p-values ascending, p_(1) <= ... <= p_(m); the adjusted value of the i-th smallest is
max_{j <= i} min(1, (m - j + 1) p_(j)). Rejecting where the adjusted p < alpha controls the family-wise error
rate at alpha under any dependence between the tests, and is never less powerful than plain Bonferroni.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(pvalues: Sequence[float]) -> tuple[float, ...]:
    """Holm-adjusted p-values, in the input order. Every p must lie in [0, 1]; ties keep their input order."""
    p = np.asarray(pvalues, dtype=np.float64).reshape(-1)  # (m,)
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    order = np.argsort(p, kind="stable")  # (m,) smallest first
    scaled = np.minimum(1.0, (p.size - np.arange(p.size)) * p[order])  # (m,) (m - j + 1) p_(j), 1-based j
    out = np.empty_like(p)
    out[order] = np.maximum.accumulate(scaled)
    return tuple(float(v) for v in out)
