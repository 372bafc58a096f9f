"""Text for tables and verdict lines. Values are stored as fractions; ``scale=100`` shows them as percent.

- t over seeds:          "73.1 ± 2.4 (n=3)"                 (mean ± half-width of the 95 % interval)
- bootstrap over items:  "12.0 [9.1, 15.3] (1 run, 1000 items)"
- one run, no interval:  "12.0 (1 run, no interval)"
- a verdict:             "Lu 71.2±1.0 > Uu 68.4±2.1: agrees (Welch t, p=0.012, α=0.05; n=3/3)"
"""

from __future__ import annotations

import math

from litlab.stats.claims import ClaimVerdict
from litlab.stats.compare import NO_VARIATION, WELCH, Verdict
from litlab.stats.estimate import Estimate
from litlab.stats.trend import TrendVerdict

SHORT_TEST = {WELCH: "Welch t"}


def fmt_estimate(est: Estimate, scale: float = 100.0, digits: int = 1) -> str:
    """A table cell: the estimate with its interval and where the interval comes from."""
    m = f"{est.mean * scale:.{digits}f}"
    if est.method == "t over seeds":
        return f"{m} ± {est.half_width * scale:.{digits}f} (n={est.n})"
    if est.method == "bootstrap over items":
        return f"{m} [{est.low * scale:.{digits}f}, {est.high * scale:.{digits}f}] (1 run, {est.items} items)"
    return f"{m} (1 run, no interval)"


def fmt_short(est: Estimate | None, scale: float = 100.0, digits: int = 1) -> str:
    """The compact form used inside verdict lines: "71.2±1.0", "12.0 [9.1, 15.3]", "12.0" or "—"."""
    if est is None:
        return "—"
    m = f"{est.mean * scale:.{digits}f}"
    if est.method == "t over seeds":
        return f"{m}±{est.half_width * scale:.{digits}f}"
    if est.method == "bootstrap over items":
        return f"{m} [{est.low * scale:.{digits}f}, {est.high * scale:.{digits}f}]"
    return m


def fmt_p(p: float) -> str:
    """"p=0.012", "p<0.001" (3 decimals)."""
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _stats(v: Verdict) -> str:
    """What the verdict rests on: the test, its (adjusted) p-value, alpha, and the seeds on each side."""
    n = f"n={v.n_a}/{v.n_b}"
    if math.isnan(v.p):
        return f"{v.reason.split(' (n=')[0]}; {n}"
    test = SHORT_TEST.get(v.test, v.test)
    p = fmt_p(v.p_adjusted) if v.family <= 1 else f"Holm-adjusted {fmt_p(v.p_adjusted)} over {v.family} links"
    note = f"; {NO_VARIATION}" if NO_VARIATION in v.reason else ""
    return f"{test}, {p}, α={v.alpha:g}; {n}{note}"


def fmt_verdict(v: Verdict, scale: float = 100.0, digits: int = 1) -> str:
    """One line: the claim with both settings' estimates, the verdict, and the test it comes from."""
    a, b = f"{v.a} {fmt_short(v.est_a, scale, digits)}", f"{v.b} {fmt_short(v.est_b, scale, digits)}"
    return f"{a} {v.claim} {b}: {v.verdict} ({_stats(v)})"


def fmt_claim(cv: ClaimVerdict, scale: float = 100.0, digits: int = 1) -> str:
    """The claim's overall verdict, then every link's line in brackets."""
    links = "; ".join(fmt_verdict(v, scale, digits) for v in cv.links)
    return f"{cv.text}: {cv.verdict} [{links}]"


def fmt_trend(tv: TrendVerdict, scale: float = 100.0, digits: int = 1) -> str:
    """E.g. "top-1 increasing in batch size (8, 16, 32): agrees (OLS slope t-test ..., slope +1.2 [0.3, 2.1]
    per doubling of batch size, p=0.004, α=0.05; n=3/3/3)"."""
    n = f"n={'/'.join(map(str, tv.n)) or 0}"
    head = f"{tv.what} {tv.direction} in {tv.x_label} ({', '.join(f'{x:g}' for x in tv.x)}): {tv.verdict}"
    if math.isnan(tv.p):
        return f"{head} ({tv.reason.split(' (n=')[0]}; {n})"
    per = f"per doubling of {tv.x_label}" if tv.x_scale == "log2" else f"per unit of {tv.x_label}"
    lo, hi = (c * scale for c in tv.ci_of_slope)
    slope = f"slope {tv.slope * scale:+.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}] {per}"
    return f"{head} ({tv.test}, {slope}, {fmt_p(tv.p)}, α={tv.alpha:g}; {n})"
