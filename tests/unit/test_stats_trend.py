"""litlab.stats.trend: the OLS slope test against scipy.stats.linregress and by hand, and its verdict paths."""

import math

import numpy as np
import pytest
from litlab.stats import trend
from scipy import stats

RISING = {8: [0.50, 0.52, 0.51], 16: [0.60, 0.61, 0.60], 32: [0.65, 0.66, 0.64]}
FLAT = {8: [0.50, 0.55, 0.52], 16: [0.53, 0.49, 0.51], 32: [0.52, 0.50, 0.54]}


def _pooled(values_by_x, log2=True):
    x = [math.log2(k) if log2 else k for k, v in values_by_x.items() for _ in v]
    return np.array(x), np.array([y for v in values_by_x.values() for y in v])


@pytest.mark.parametrize("x_scale", ["log2", "linear"])
@pytest.mark.parametrize("values", [RISING, FLAT])
def test_slope_and_p_match_linregress(values, x_scale):
    x, y = _pooled(values, x_scale == "log2")
    ref = stats.linregress(x, y)
    tv = trend(values, x_scale=x_scale)
    assert (tv.slope, tv.p) == (pytest.approx(ref.slope), pytest.approx(ref.pvalue))
    half = stats.t.ppf(0.975, x.size - 2) * ref.stderr
    assert tv.ci_of_slope == (pytest.approx(ref.slope - half), pytest.approx(ref.slope + half))


def test_slope_hand_computed():
    # x = log2(2), log2(4) = 1, 2 with two seeds each: y = 1, 3 at x=1 and 3, 5 at x=2.
    # xbar = 1.5, ybar = 3; Sxy = (-.5)(-2) + (-.5)(0) + (.5)(0) + (.5)(2) = 2, Sxx = 4 * .25 = 1 -> slope 2.
    # residuals -1, 1, -1, 1: SSR = 4, df = 2, se = sqrt(4 / 2 / 1) = sqrt(2); t = sqrt(2); p = 2 sf(1.414, 2)
    tv = trend({2: [1.0, 3.0], 4: [3.0, 5.0]})
    assert tv.slope == pytest.approx(2.0)
    assert tv.p == pytest.approx(2 * stats.t.sf(math.sqrt(2), 2))
    assert tv.verdict == "inconclusive"  # p ~ 0.29


@pytest.mark.parametrize(("values", "direction", "verdict"), [
    (RISING, "increasing", "agrees"), (RISING, "decreasing", "disagrees"),
    ({k: [1 - y for y in v] for k, v in RISING.items()}, "increasing", "disagrees"),
    (FLAT, "increasing", "inconclusive"), (FLAT, "decreasing", "inconclusive"),
])
def test_three_way_rule(values, direction, verdict):
    tv = trend(values, direction, what="top-1", x_label="batch size")
    assert tv.verdict == verdict
    assert (tv.x, tv.n, tv.x_label) == ((8.0, 16.0, 32.0), (3, 3, 3), "batch size")


@pytest.mark.parametrize("values", [{8: [0.5], 16: [0.6, 0.61], 32: [0.7, 0.7]}, {8: [0.5, 0.6]}, {}])
def test_replicates_and_two_x_values_are_required(values):
    tv = trend(values)
    assert tv.verdict == "inconclusive" and math.isnan(tv.p) and tv.reason.startswith("needs >= 2 seeds")


def test_constant_values_are_inconclusive_not_nan():
    tv = trend({8: [0.1, 0.1], 16: [0.1, 0.1]})
    assert (tv.verdict, tv.slope, tv.p) == ("inconclusive", 0.0, 1.0)


def test_values_exactly_on_a_line():
    tv = trend({1: [1.0, 1.0], 2: [2.0, 2.0], 3: [3.0, 3.0]}, x_scale="linear")
    assert tv.slope == pytest.approx(1.0) and tv.p < 1e-10 and tv.verdict == "agrees"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"direction": "up"}, "valid: increasing, decreasing"), ({"x_scale": "log10"}, "valid: linear, log2"),
    ({"alpha": 0.0}, "alpha"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        trend(RISING, **kwargs)


def test_log_scale_needs_positive_x():
    with pytest.raises(ValueError, match="every x > 0"):
        trend({0: [0.1, 0.2], 8: [0.3, 0.4]})
    assert trend({0: [0.1, 0.2], 8: [0.3, 0.4]}, x_scale="linear").n == (2, 2)
