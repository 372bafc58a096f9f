"""The paper's orderings tested over seeds: agrees / disagrees / inconclusive, never from two point values.

Every check takes each setting's per-seed values of one metric (litlab.stats): an order link "a > b" is Welch's
two-sided t-test over the seeds of a and b, the links of one claim Holm–Bonferroni-adjusted together; "larger
batches are better" is the OLS slope t-test (litlab.stats.trend). All at level ``ALPHA``. With one seed a
setting has no spread to test against, so every verdict is "inconclusive" and says how to fix that. A check on a
column with no signal (ablations.report_signal) is not run: its values are shown as what they are, noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from litlab.stats import ClaimVerdict, TrendVerdict, below_all, chain, compare, holm, pairwise, summarize, trend
from litlab.stats.compare import NEEDS_SEEDS, VerdictWord
from litlab.stats.format import fmt_claim, fmt_p, fmt_short, fmt_trend

from ablations.report_signal import NO_SIGNAL, Signal

ALPHA = 0.05
SEEDS_HINT = "needs >= 2 seeds per setting: run with --seeds 3"
TESTS = (f"Verdicts: Welch's two-sided t-test over seeds (each seed one run), the links of one claim Holm–Bonferroni "
         f"adjusted together; trends: OLS slope t-test over seeds, batch size on a log2 scale; α = {ALPHA:g}. "
         "agrees / disagrees: significant in the paper's / the opposite direction; inconclusive: within seed noise, "
         "or fewer than 2 seeds per setting.")
Values = Mapping[str, Sequence[float]]  # setting -> one value per seed


def _word(cv: ClaimVerdict) -> str:
    untested = any(math.isnan(v.p) and NEEDS_SEEDS in v.reason for v in cv.links)
    return f"inconclusive ({SEEDS_HINT})" if cv.verdict == "inconclusive" and untested else cv.verdict


def claim_line(cv: ClaimVerdict, scale: float = 100.0) -> str:
    """litlab.stats.format.fmt_claim, with the fix for a one-seed "inconclusive" in the claim's verdict."""
    return fmt_claim(cv, scale).replace(f"{cv.text}: {cv.verdict} [", f"{cv.text}: {_word(cv)} [", 1)


def _listed(values: Values, names: Sequence[str], scale: float = 100.0) -> str:
    return ", ".join(f"{n} {fmt_short(summarize(values[n]), scale)}" for n in names if values.get(n))


def _gate(claim: str, values: Values, names: Sequence[str], signal: Signal | None) -> str | None:
    """The line a check on a no-signal column prints instead of a verdict (None when the column has signal)."""
    if signal is None or not signal.none:
        return None
    return (f"{claim}: {NO_SIGNAL}, not tested (every setting within chance {100 * (signal.chance or 0):.1f}: "
            f"{_listed(values, names)})")


def _measured(values: Values, names: Sequence[str]) -> list[str]:
    return [n for n in names if values.get(n)]


def chain_check(names: Sequence[str], relations: Sequence[str], values: Values, signal: Signal | None) -> str:
    """``names[0] rel[0] names[1] ...`` over the measured names (a skipped strict link keeps it strict)."""
    claim = "".join(f"{n} {r} " for n, r in zip(names, relations, strict=False)) + names[-1]
    present = [i for i, n in enumerate(names) if values.get(n)]
    if len(present) < 2:
        return f"{claim}: cannot check, measured only {_listed(values, names) or 'none'}"
    text = names[present[0]] + "".join(f" {'>' if '>' in relations[i:j] else '≥'} {names[j]}"
                                       for i, j in zip(present, present[1:], strict=False))
    absent = [n for n in names if not values.get(n)]
    skipped = f" ({', '.join(absent)} not measured)" if absent else ""
    gated = _gate(text, values, [names[i] for i in present], signal)
    return (gated or claim_line(chain(text, values, ALPHA))) + skipped


def below_check(low: Sequence[str], values: Values, signal: Signal | None) -> str:
    """Every measured setting of ``low`` below every other measured setting."""
    lows = _measured(values, low)
    others = [n for n in values if values.get(n) and n not in low]
    if not lows or not others:
        return f"{' and '.join(low)} below every other setting: cannot check, measured only " \
               f"{_listed(values, list(values)) or 'none'}"
    cv = below_all(lows, others, values, ALPHA)
    return _gate(cv.text, values, [*lows, *others], signal) or claim_line(cv)


def pairs_check(a_by: Values, b_by: Values, claim: str, names: tuple[str, str], signal: Signal | None,
                scale: float = 100.0) -> str:
    """``a claim b`` at every condition measured on both sides (e.g. global ≥ worker at each batch size)."""
    both = [c for c in a_by if a_by.get(c) and b_by.get(c)]
    text = f"{names[0]} {claim} {names[1]} at every condition"
    if not both:
        return f"{text}: cannot check, no condition measured on both sides"
    a, b = {c: a_by[c] for c in both}, {c: b_by[c] for c in both}
    flat = {f"{names[0]} ({c})": a[c] for c in both} | {f"{names[1]} ({c})": b[c] for c in both}
    return _gate(text, flat, list(flat), signal) or claim_line(pairwise(a, b, claim, names, ALPHA), scale)


def trend_line(tv: TrendVerdict, scale: float = 100.0) -> str:
    """litlab.stats.format.fmt_trend, with the fix for a one-seed "inconclusive"."""
    if math.isnan(tv.p) and tv.verdict == "inconclusive":
        n = "/".join(map(str, tv.n)) or "0"
        xs = ", ".join(f"{x:g}" for x in tv.x)
        return (f"{tv.what} {tv.direction} in {tv.x_label} ({xs}): inconclusive (needs >= 2 seeds at each "
                f"{tv.x_label}: run with --seeds 3; n={n})")
    return fmt_trend(tv, scale)


def increasing_check(by_x: Mapping[float, Sequence[float]], what: str, x_label: str, signal: Signal | None) -> str:
    """The metric increases with x (OLS slope t-test over every seed's run, x on a log2 scale)."""
    measured = {x: v for x, v in by_x.items() if len(v)}
    if len(measured) < 2:
        return f"{what} increasing in {x_label}: cannot check, {len(measured)} {x_label}(s) measured"
    flat = {f"{x_label} {x:g}": v for x, v in sorted(measured.items())}
    gated = _gate(f"{what} increasing in {x_label}", flat, list(flat), signal)
    return gated or trend_line(trend(measured, "increasing", ALPHA, "log2", what, x_label))


def no_change_check(baseline: str, values: Values, signal: Signal | None) -> str:
    """The paper's "X barely changes the result": each measured setting against ``baseline`` (Welch, Holm over
    the settings). A t-test cannot show equality, so this is never "agrees": a significant change disagrees, no
    detectable change is inconclusive, and the interval of each difference bounds the change the seeds exclude."""
    others = [n for n in values if n != baseline and values.get(n)]
    text = f"no change against {baseline}"
    if not values.get(baseline) or not others:
        return f"{text}: cannot check, measured only {_listed(values, list(values)) or 'none'}"
    gated = _gate(text, values, [baseline, *others], signal)
    if gated:
        return gated
    raw = [compare(values[n], values[baseline], ">", ALPHA, names=(n, baseline)) for n in others]
    tested = [i for i, v in enumerate(raw) if not math.isnan(v.p)]
    adjusted = dict(zip(tested, holm([raw[i].p for i in tested]), strict=True))
    parts, words = [], []
    for i, v in enumerate(raw):
        n = f"n={v.n_a}/{v.n_b}"
        if i not in adjusted:
            parts.append(f"{v.a} − {v.b} {100 * v.diff:+.1f}: inconclusive ({NEEDS_SEEDS}; {n})")
            words.append("inconclusive")
            continue
        word: VerdictWord = "disagrees" if adjusted[i] < ALPHA and v.diff != 0 else "inconclusive"  # either way
        lo, hi = (100 * c for c in v.ci_of_diff)
        p = fmt_p(adjusted[i]) if len(tested) == 1 else f"Holm-adjusted {fmt_p(adjusted[i])} over {len(tested)}"
        parts.append(f"{v.a} − {v.b} {100 * v.diff:+.1f} [{lo:.1f}, {hi:.1f}]: {word} (Welch t, {p}, "
                     f"α={ALPHA:g}; {n})")
        words.append(word)
    overall = "disagrees" if "disagrees" in words else "inconclusive"
    if overall == "inconclusive" and len(adjusted) < len(others):
        overall = f"inconclusive ({SEEDS_HINT})"
    return f"{text}: {overall} [{'; '.join(parts)}]"
