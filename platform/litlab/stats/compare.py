"""One order claim between two settings, tested over their seeds: agrees / disagrees / inconclusive.

Test: Welch's unequal-variance t-test, two-sided, on the per-seed values of a and b (each seed one run).
Rule at level alpha: p < alpha with the difference in the claimed direction -> agrees; p < alpha in the
opposite direction -> disagrees; otherwise inconclusive (the difference is within seed noise).

- "≥" and ">" are both tested as superiority of a over b ("≤" and "<" of b over a): a t-test can reject
  "no difference" but can never confirm equality, so the "=" half of "≥" is not tested. A "≥" claim whose
  settings do not differ detectably is therefore inconclusive, not agreeing.
- Fewer than 2 values on either side: inconclusive, reason "needs >= 2 seeds per setting" (no test is run,
  p is nan). One run has no seed spread to test against.
- Both sides without any seed-to-seed variation (every seed gave the same value): the t statistic is d/0.
  We take the test's limit as both variances go to 0: p = 0 when the means differ (the difference is exact,
  decided by its sign), p = 1 when they are equal (inconclusive). The reason says so, because identical
  replicates usually mean the seed never reached the run.
- The interval of the difference (``ci_of_diff``) is Welch's, at level 1 - alpha, not adjusted for multiplicity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from litlab.stats.dist import t_ppf, t_sf
from litlab.stats.estimate import Estimate, as_values, summarize

Claim = Literal[">", "≥", "<", "≤"]
VerdictWord = Literal["agrees", "disagrees", "inconclusive"]
CLAIMS: dict[str, Claim] = {">": ">", "≥": "≥", ">=": "≥", "<": "<", "≤": "≤", "<=": "≤"}
WELCH = "Welch's t-test (two-sided)"
NEEDS_SEEDS = "needs >= 2 seeds per setting"
NO_VARIATION = "no seed-to-seed variation on either side (does the seed reach the runs?)"


@dataclass(frozen=True)
class Welch:
    """Welch's test of mean(a) - mean(b): the difference, its standard error, degrees of freedom, t, p."""

    diff: float
    se: float
    df: float
    t: float
    p: float


@dataclass(frozen=True)
class Verdict:
    """The verdict on ``a claim b`` and everything it rests on. ``p`` is the test's raw two-sided p-value,
    ``p_adjusted`` the one the verdict used (Holm over ``family`` links; = p for a lone comparison)."""

    verdict: VerdictWord
    claim: Claim
    a: str
    b: str
    test: str
    p: float
    p_adjusted: float
    diff: float
    ci_of_diff: tuple[float, float]
    n_a: int
    n_b: int
    alpha: float
    reason: str
    family: int = 1
    est_a: Estimate | None = None
    est_b: Estimate | None = None


def normalize_claim(claim: str) -> Claim:
    """'>', '≥', '>=', '<', '≤', '<=' -> the canonical claim, or a ValueError listing them."""
    if claim not in CLAIMS:
        raise ValueError(f"unknown claim {claim!r}; valid: {', '.join(CLAIMS)}")
    return CLAIMS[claim]


def check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r} (e.g. 0.05)")


def _var_of_mean(x: np.ndarray) -> float:
    """s^2 / n, exactly 0 when every value is the same (float rounding would leave ~1e-34)."""
    return 0.0 if x.min() == x.max() else float(x.var(ddof=1)) / x.size


def welch(a: Sequence[float], b: Sequence[float]) -> Welch:
    """Welch's two-sided t-test; both sides need >= 2 values. Zero variance on both sides: p = 0 or 1."""
    x, y = as_values(a, "a"), as_values(b, "b")
    if x.size < 2 or y.size < 2:
        raise ValueError(f"Welch's test {NEEDS_SEEDS}; got {x.size} and {y.size}")
    va, vb = _var_of_mean(x), _var_of_mean(y)  # squared standard errors of the two means
    diff, se = float(x.mean() - y.mean()), math.sqrt(va + vb)
    if se == 0.0:
        diff = float(x[0] - y[0])  # exact: the means of equal floats can differ in the last bit
        return Welch(diff, 0.0, math.nan, math.copysign(math.inf, diff) if diff else math.nan, float(diff == 0.0))
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))  # Welch–Satterthwaite
    t = diff / se
    return Welch(diff, se, float(df), t, 2 * t_sf(abs(t), df))


def decide(claim: Claim, diff: float, p: float, alpha: float, p_name: str = "p") -> tuple[VerdictWord, str]:
    """The three-way rule on a (possibly adjusted, then ``p_name`` says so) p-value and the sign of
    mean(a) - mean(b)."""
    if not p < alpha or diff == 0.0:
        return "inconclusive", f"{p_name} >= {alpha:g}: the difference is within seed noise"
    if (diff > 0) == (claim in (">", "≥")):
        return "agrees", f"{p_name} < {alpha:g} in the claimed direction"
    return "disagrees", f"{p_name} < {alpha:g} in the opposite direction"


def _estimate(values: np.ndarray) -> Estimate | None:
    return summarize(values) if values.size else None


def compare(a: Sequence[float], b: Sequence[float], claim: str = ">", alpha: float = 0.05, *,
            names: tuple[str, str] = ("a", "b")) -> Verdict:
    """Test ``a claim b`` over the seeds of two settings (values of one metric, one per seed)."""
    check_alpha(alpha)
    rel = normalize_claim(claim)
    x, y = as_values(a, names[0]), as_values(b, names[1])
    ests = _estimate(x), _estimate(y)
    if x.size < 2 or y.size < 2:
        nan = math.nan
        diff = float(x.mean() - y.mean()) if x.size and y.size else nan
        return Verdict("inconclusive", rel, *names, WELCH, nan, nan, diff, (nan, nan), int(x.size), int(y.size),
                       alpha, f"{NEEDS_SEEDS} (n={x.size}/{y.size})", 1, *ests)
    w = welch(x, y)
    half = w.se * t_ppf(1 - alpha / 2, w.df) if w.se else 0.0
    verdict, reason = decide(rel, w.diff, w.p, alpha)
    if w.se == 0.0:
        reason = f"{reason}; {NO_VARIATION}"
    return Verdict(verdict, rel, *names, WELCH, w.p, w.p, w.diff, (w.diff - half, w.diff + half), int(x.size),
                   int(y.size), alpha, reason, 1, *ests)


def adjusted(v: Verdict, p_adjusted: float, family: int) -> Verdict:
    """``v`` decided again on a multiplicity-adjusted p-value (Holm), remembering the family size."""
    if math.isnan(v.p):
        return replace(v, family=family)
    verdict, reason = decide(v.claim, v.diff, p_adjusted, v.alpha, "Holm-adjusted p" if family > 1 else "p")
    if NO_VARIATION in v.reason:
        reason = f"{reason}; {NO_VARIATION}"
    return replace(v, verdict=verdict, reason=reason, p_adjusted=p_adjusted, family=family)
