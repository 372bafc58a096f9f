"""The three distribution functions the statistics need, with scipy imported on first use.

Training workers import ``litlab.stats`` for chance levels only (``litlab.evaluators.facts``); importing
``scipy.stats`` at module level cost each of them ~0.45 s of CPU at start-up, paid by every worker of every trial.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType


@cache
def _scipy_stats() -> ModuleType:
    from scipy import stats  # here, not at the top: see the module's docstring

    return stats


def t_sf(x: float, df: float) -> float:
    """P(T > x) for Student's t with ``df`` degrees of freedom."""
    return float(_scipy_stats().t.sf(x, df))


def t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom."""
    return float(_scipy_stats().t.ppf(q, df))


def norm_ppf(q: float) -> float:
    """The ``q`` quantile of the standard normal."""
    return float(_scipy_stats().norm.ppf(q))
