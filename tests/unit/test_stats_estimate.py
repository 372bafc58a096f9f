"""litlab.stats.estimate and bands: t intervals, the item bootstrap, Wilson, against scipy and hand arithmetic."""

import math

import numpy as np
import pytest
from litlab.stats import band, item_bootstrap, summarize, wilson_interval
from litlab.stats.estimate import t_interval
from scipy import stats


def test_t_interval_hand_computed():
    # [1, 2, 3]: mean 2, s = 1, sem = 1/sqrt(3) = 0.577350; t_{0.975, 2} = 4.302653 -> half = 2.484138
    e = summarize([1.0, 2.0, 3.0])
    assert (e.mean, e.n, e.method, e.level) == (2.0, 3, "t over seeds", 0.95)
    assert e.low == pytest.approx(2 - 2.484138, abs=1e-6)
    assert e.high == pytest.approx(2 + 2.484138, abs=1e-6)
    assert e.half_width == pytest.approx(2.484138, abs=1e-6)


@pytest.mark.parametrize("values", [[0.71, 0.74], [0.12, 0.15, 0.11], [0.5, 0.52, 0.49, 0.55, 0.61]])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_t_interval_matches_scipy(values, level):
    x = np.asarray(values)
    low, high = stats.t.interval(level, x.size - 1, loc=x.mean(), scale=stats.sem(x))
    e = summarize(values, level=level)
    assert (e.low, e.high) == (pytest.approx(low, rel=1e-12), pytest.approx(high, rel=1e-12))


def test_t_interval_needs_two_values():
    with pytest.raises(ValueError, match=">= 2 values"):
        t_interval([0.3])


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [float("inf"), 0.2]])
def test_non_finite_values_are_refused(bad):
    with pytest.raises(ValueError, match="entry 1|entry 0"):
        summarize(bad)


@pytest.mark.parametrize("level", [0.0, 1.0, 95])
def test_bad_level(level):
    with pytest.raises(ValueError, match="between 0 and 1"):
        summarize([0.1, 0.2], level=level)


@pytest.mark.parametrize(("hits", "items"), [(120, 1000), (30, 100), (7, 170), (500, 1000), (95, 100)])
def test_bootstrap_quantiles_are_the_binomial_quantiles(hits, items):
    # resampling `items` 0/1 outcomes with replacement gives Binomial(items, hits/items) hits: the bootstrap's
    # 2.5 % / 97.5 % quantiles must sit within one item of the exact binomial quantiles
    e = item_bootstrap(hits, items)
    low = stats.binom.ppf(0.025, items, hits / items) / items
    high = stats.binom.ppf(0.975, items, hits / items) / items
    assert (e.mean, e.n, e.items, e.method) == (hits / items, 1, items, "bootstrap over items")
    assert abs(e.low - low) <= 1 / items + 1e-12
    assert abs(e.high - high) <= 1 / items + 1e-12


@pytest.mark.parametrize(("hits", "items"), [(120, 1000), (30, 100), (50, 400), (500, 1000)])
def test_bootstrap_agrees_with_wilson(hits, items):
    # two different constructions of a 95 % interval for a proportion: they agree to O(1/items) + noise
    e, (wlow, whigh) = item_bootstrap(hits, items), wilson_interval(hits, items)
    tol = 1.5 / items + 0.05 / math.sqrt(items)  # 0.02 at 100 items, 0.003 at 1000
    assert e.low == pytest.approx(wlow, abs=tol)
    assert e.high == pytest.approx(whigh, abs=tol)


def test_bootstrap_matches_an_explicit_resampling_of_items():
    outcomes = np.array([1] * 7 + [0] * 13)  # 7 hits of 20 items
    rng = np.random.default_rng(1)
    explicit = outcomes[rng.integers(0, 20, size=(20_000, 20))].mean(1)  # (20000,) resampled top-1
    e = item_bootstrap(7, 20, resamples=20_000)
    assert e.low == pytest.approx(np.quantile(explicit, 0.025), abs=1 / 20)
    assert e.high == pytest.approx(np.quantile(explicit, 0.975), abs=1 / 20)


def test_bootstrap_is_seeded():
    assert item_bootstrap(33, 101, seed=3) == item_bootstrap(33, 101, seed=3)
    draws = {(item_bootstrap(33, 101, resamples=50, seed=s).low) for s in range(6)}
    assert len(draws) > 1  # the seed does reach the draws


def test_bootstrap_collapses_at_zero_hits_but_wilson_does_not():
    e = item_bootstrap(0, 170)
    assert (e.low, e.high) == (0.0, 0.0)
    assert wilson_interval(0, 170)[1] > 0.01


def test_wilson_hand_computed():
    # 8 of 10, z = 1.959964: centre = (0.8 + z^2/20) / (1 + z^2/10) = 0.992073 / 1.384146 = 0.716738;
    # half = z / 1.384146 * sqrt(0.8 * 0.2 / 10 + z^2 / 400) = 1.416009 * 0.160011 = 0.226577
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.490161, abs=1e-5)
    assert high == pytest.approx(0.943315, abs=1e-5)


@pytest.mark.parametrize(("hits", "items"), [(-1, 10), (11, 10), (0, 0)])
def test_bad_counts(hits, items):
    with pytest.raises(ValueError, match="0 <= hits <= items"):
        item_bootstrap(hits, items)


def test_summarize_one_run_with_items_is_the_item_bootstrap():
    assert summarize([0.12], items=1000) == item_bootstrap(120, 1000)


def test_summarize_one_run_needs_a_hit_fraction():
    with pytest.raises(ValueError, match="not a whole number of hits"):
        summarize([0.1234], items=1000)


def test_summarize_one_run_without_items_has_no_interval():
    e = summarize([0.4])
    assert e.method == "no interval" and e.mean == 0.4 and math.isnan(e.low) and math.isnan(e.high)


def test_summarize_many_runs_ignores_items():
    assert summarize([0.1, 0.2], items=1000).method == "t over seeds"


def test_summarize_needs_a_value():
    with pytest.raises(ValueError, match="at least one value"):
        summarize([])


def test_band_is_a_t_interval_per_step_over_the_seeds_present():
    nan = float("nan")
    runs = [[0.10, 0.20, nan, nan], [0.12, 0.22, 0.30, nan], [0.11, 0.25, 0.31, nan]]
    b = band([100, 200, 300, 400], runs)
    assert b.x == (100.0, 200.0, 300.0)  # step 400: no run logged it
    assert b.n == (3, 3, 2)
    for j, col in enumerate([[0.10, 0.12, 0.11], [0.20, 0.22, 0.25], [0.30, 0.31]]):
        e = t_interval(col)
        assert (b.mean[j], b.low[j], b.high[j]) == (e.mean, e.low, e.high)


def test_band_single_seed_step_has_no_interval():
    b = band([1, 2], [[0.1, 0.2], [0.3, float("nan")]])
    assert b.n == (2, 1) and b.mean[1] == 0.2 and math.isnan(b.low[1])


@pytest.mark.parametrize("runs", [[[0.1, 0.2, 0.3]], [[0.1, float("inf")]]])
def test_band_bad_runs(runs):
    with pytest.raises(ValueError, match="runs"):
        band([1, 2], runs)
