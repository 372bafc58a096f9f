"""litlab.stats.format and signal: the exact texts of table cells and verdict lines, and "no signal"."""

import math

import pytest
from litlab.stats import above_chance, any_above_chance, chain, compare, item_bootstrap, summarize, trend
from litlab.stats.estimate import Estimate
from litlab.stats.format import fmt_claim, fmt_estimate, fmt_p, fmt_short, fmt_trend, fmt_verdict


def test_seed_interval_cell():
    # [0.70, 0.73, 0.76]: mean 0.73, s = 0.03, half = 4.302653 * 0.03 / sqrt(3) = 0.074524 -> 7.5 points
    assert fmt_estimate(summarize([0.70, 0.73, 0.76])) == "73.0 ± 7.5 (n=3)"
    assert fmt_estimate(summarize([0.70, 0.73, 0.76]), scale=1.0, digits=3) == "0.730 ± 0.075 (n=3)"


def test_bootstrap_cell():
    e = Estimate(0.12, 0.091, 0.153, 1, "bootstrap over items", items=1000)
    assert fmt_estimate(e) == "12.0 [9.1, 15.3] (1 run, 1000 items)"
    assert fmt_short(e) == "12.0 [9.1, 15.3]"


def test_single_run_without_items_cell():
    assert fmt_estimate(summarize([0.4567])) == "45.7 (1 run, no interval)"
    assert fmt_short(summarize([0.4567])) == "45.7" and fmt_short(None) == "—"


@pytest.mark.parametrize(("p", "text"), [(0.0123, "p=0.012"), (0.5, "p=0.500"), (0.0004, "p<0.001"), (0.0, "p<0.001")])
def test_p(p, text):
    assert fmt_p(p) == text


def test_verdict_line():
    v = compare([0.70, 0.72, 0.71], [0.60, 0.61, 0.63], "≥", names=("Lu", "Uu"))
    # Lu: 71.0 ± 4.302653 * 0.01 / sqrt(3) = 2.5; Uu: mean 61.333, s = 0.015275 -> half 3.8
    assert fmt_verdict(v) == f"Lu 71.0±2.5 ≥ Uu 61.3±3.8: agrees (Welch t, {fmt_p(v.p)}, α=0.05; n=3/3)"
    assert fmt_p(v.p) == "p=0.002"


def test_verdict_line_without_enough_seeds():
    v = compare([0.70], [0.60, 0.61, 0.63], ">", names=("Lu", "Uu"))
    assert fmt_verdict(v) == "Lu 70.0 > Uu 61.3±3.8: inconclusive (needs >= 2 seeds per setting; n=1/3)"


def test_verdict_line_of_constant_replicates_says_so():
    line = fmt_verdict(compare([0.5, 0.5], [0.4, 0.4], ">", names=("a", "b")))
    assert line.startswith("a 50.0±0.0 > b 40.0±0.0: agrees (Welch t, p<0.001, α=0.05; n=2/2; no seed-to-seed")


def test_claim_line_names_holm_and_every_link():
    values = {"Lu": [0.71, 0.72, 0.705], "Uu": [0.68, 0.69, 0.66], "uu": [0.60, 0.62, 0.61]}
    cv = chain("Lu ≥ Uu > uu", values)
    first, second = cv.links
    assert fmt_claim(cv) == (
        f"Lu ≥ Uu > uu: agrees [Lu 71.2±1.9 ≥ Uu 67.7±3.8: agrees (Welch t, Holm-adjusted {fmt_p(first.p_adjusted)}"
        f" over 2 links, α=0.05; n=3/3); Uu 67.7±3.8 > uu 61.0±2.5: agrees (Welch t, Holm-adjusted "
        f"{fmt_p(second.p_adjusted)} over 2 links, α=0.05; n=3/3)]")


def test_trend_line():
    tv = trend({8: [0.50, 0.52, 0.51], 16: [0.60, 0.61, 0.60], 32: [0.65, 0.66, 0.64]}, what="top-1",
               x_label="batch size")
    lo, hi = (100 * c for c in tv.ci_of_slope)
    assert fmt_trend(tv) == (f"top-1 increasing in batch size (8, 16, 32): agrees (OLS slope t-test over seeds "
                             f"(two-sided), x on a log2 scale, slope +7.0 [{lo:.1f}, {hi:.1f}] per doubling of "
                             f"batch size, p<0.001, α=0.05; n=3/3/3)")
    short = trend({8: [0.5], 16: [0.6, 0.61]}, what="top-1", x_label="batch size")
    assert fmt_trend(short) == ("top-1 increasing in batch size (8, 16): inconclusive (needs >= 2 seeds at each "
                                "of >= 2 x values; n=1/2)")


@pytest.mark.parametrize(("est", "chance", "above"), [
    (Estimate(0.30, 0.25, 0.35, 3, "t over seeds"), 0.10, True),
    (Estimate(0.12, 0.09, 0.15, 3, "t over seeds"), 0.10, False),  # interval reaches below chance
    (Estimate(0.12, 0.10, 0.14, 3, "t over seeds"), 0.10, False),  # touching is not above
    (Estimate(0.90, math.nan, math.nan, 1, "no interval"), 0.10, False),  # no interval, no claim
])
def test_above_chance_is_the_lower_bound(est, chance, above):
    assert above_chance(est, chance) is above


def test_column_signal():
    # 170 items at chance 1 %: 3/170 = 1.8 % with a bootstrap interval reaching 0 carries no signal
    column = [item_bootstrap(h, 170) for h in (0, 2, 3)]
    assert not any_above_chance(column, 0.01)
    assert any_above_chance([*column, item_bootstrap(20, 170)], 0.01)
    assert not any_above_chance([], 0.01)
