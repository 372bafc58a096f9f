"""litlab.stats.compare: Welch's test against scipy and by hand, and every path of the three-way verdict."""

import math

import numpy as np
import pytest
from litlab.stats import compare
from litlab.stats.compare import NEEDS_SEEDS, NO_VARIATION, WELCH, adjusted, normalize_claim, welch
from scipy import stats

HIGH, LOW = [0.70, 0.72, 0.71], [0.60, 0.61, 0.63]  # clearly apart: p ~ 0.001
NEAR = [0.69, 0.73, 0.70]  # overlaps HIGH: p ~ 0.76


def test_welch_hand_computed():
    # a = [1, 2, 3] (var 1), b = [4, 6, 8] (var 4): se^2 = 1/3 + 4/3 = 5/3, diff = -4, t = -4 / 1.290994 = -3.098387,
    # df = (5/3)^2 / ((1/3)^2 / 2 + (4/3)^2 / 2) = (25/9) / (17/18) = 50/17 = 2.941176
    w = welch([1, 2, 3], [4, 6, 8])
    assert w.diff == -4.0
    assert w.se == pytest.approx(math.sqrt(5 / 3))
    assert w.t == pytest.approx(-3.098387, abs=1e-6)
    assert w.df == pytest.approx(50 / 17)


SCIPY_CONSTANT = pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy on a constant side


@SCIPY_CONSTANT
@pytest.mark.parametrize(("a", "b"), [(HIGH, LOW), (HIGH, NEAR), ([1, 2, 3], [2, 3, 4.5]),
                                      ([0.5, 0.5, 0.5], [0.2, 0.25, 0.3]), ([5, 7], [1, 2, 3, 4, 9])])
def test_welch_matches_scipy(a, b):
    ref = stats.ttest_ind(a, b, equal_var=False)
    w = welch(a, b)
    assert (w.t, w.p, w.df) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue), pytest.approx(ref.df))


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_interval_of_the_difference_matches_scipy(alpha):
    ref = stats.ttest_ind(HIGH, NEAR, equal_var=False).confidence_interval(1 - alpha)
    v = compare(HIGH, NEAR, ">", alpha)
    assert v.ci_of_diff == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert v.diff == pytest.approx(np.mean(HIGH) - np.mean(NEAR))


@pytest.mark.parametrize(("a", "b", "claim", "verdict"), [
    (HIGH, LOW, ">", "agrees"), (HIGH, LOW, "≥", "agrees"), (HIGH, LOW, ">=", "agrees"),
    (HIGH, LOW, "<", "disagrees"), (HIGH, LOW, "≤", "disagrees"),
    (LOW, HIGH, ">", "disagrees"), (LOW, HIGH, "<=", "agrees"),
    (HIGH, NEAR, ">", "inconclusive"), (HIGH, NEAR, "≥", "inconclusive"), (NEAR, HIGH, "<", "inconclusive"),
])
def test_three_way_rule(a, b, claim, verdict):
    v = compare(a, b, claim, names=("Lu", "Uu"))
    assert v.verdict == verdict
    assert (v.test, v.a, v.b, v.n_a, v.n_b, v.family) == (WELCH, "Lu", "Uu", 3, 3, 1)
    assert v.p == v.p_adjusted == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)


def test_alpha_decides():
    p = compare(HIGH, LOW).p  # ~ 0.0026
    assert compare(HIGH, LOW, alpha=p * 1.01).verdict == "agrees"
    assert compare(HIGH, LOW, alpha=p * 0.99).verdict == "inconclusive"


@pytest.mark.parametrize(("a", "b", "n"), [([0.7], HIGH, "1/3"), (HIGH, [0.6], "3/1"), ([], HIGH, "0/3"),
                                           ([0.9], [0.1], "1/1")])
def test_fewer_than_two_seeds_is_inconclusive_without_a_test(a, b, n):
    v = compare(a, b, ">")
    assert v.verdict == "inconclusive" and v.reason == f"{NEEDS_SEEDS} (n={n})"
    assert math.isnan(v.p) and math.isnan(v.p_adjusted) and all(math.isnan(c) for c in v.ci_of_diff)


def test_single_seed_side_keeps_its_value_for_display():
    v = compare([0.9], HIGH, ">")
    assert v.est_a.method == "no interval" and v.est_a.mean == 0.9 and v.est_b.method == "t over seeds"
    assert v.diff == pytest.approx(0.9 - np.mean(HIGH))
    assert compare([], HIGH).est_a is None


@pytest.mark.parametrize(("a", "b", "claim", "verdict", "p"), [
    ([0.5, 0.5, 0.5], [0.4, 0.4], ">", "agrees", 0.0),
    ([0.5, 0.5, 0.5], [0.4, 0.4], "<", "disagrees", 0.0),
    ([0.5, 0.5], [0.5, 0.5, 0.5], "≥", "inconclusive", 1.0),
    ([0.1, 0.1, 0.1], [0.1, 0.1], ">", "inconclusive", 1.0),  # means 0.10000000000000002 and 0.1
    ([0.1, 0.1, 0.1], [0.2, 0.2], "<", "agrees", 0.0),
])
def test_no_variation_on_both_sides_is_the_zero_variance_limit(a, b, claim, verdict, p):
    v = compare(a, b, claim)
    assert (v.verdict, v.p) == (verdict, p)
    assert NO_VARIATION in v.reason
    assert v.ci_of_diff == (v.diff, v.diff) == (a[0] - b[0], a[0] - b[0])


@SCIPY_CONSTANT
def test_no_variation_on_one_side_is_an_ordinary_welch_test():
    v = compare([0.5, 0.5, 0.5], [0.4, 0.45, 0.3], ">")
    assert v.p == pytest.approx(stats.ttest_ind([0.5, 0.5, 0.5], [0.4, 0.45, 0.3], equal_var=False).pvalue)
    assert NO_VARIATION not in v.reason


def test_adjusted_p_can_turn_an_agreement_inconclusive():
    v = compare(HIGH, LOW, ">")
    later = adjusted(v, 0.2, family=3)
    assert (later.verdict, later.p, later.p_adjusted, later.family) == ("inconclusive", v.p, 0.2, 3)
    assert "Holm-adjusted p >= 0.05" in later.reason


@pytest.mark.parametrize("claim", ["=", ">>", "gt", ""])
def test_unknown_claim_lists_the_valid_ones(claim):
    with pytest.raises(ValueError, match="valid: >, ≥, >=, <, ≤, <="):
        normalize_claim(claim)


@pytest.mark.parametrize("alpha", [0, 1, 5])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        compare(HIGH, LOW, alpha=alpha)


def test_non_finite_seed_value_is_refused():
    with pytest.raises(ValueError, match="Uu: entry 1"):
        compare(HIGH, [0.6, float("nan")], names=("Lu", "Uu"))
