"""litlab.stats.holm and claims: Holm by hand, chains, "below every other", pairs across conditions."""

import math

import pytest
from litlab.stats import below_all, chain, compare, holm, pairwise, parse_chain
from litlab.stats.claims import overall
from litlab.stats.compare import NEEDS_SEEDS
from scipy import stats

# Per-seed zero-shot top-1 of five settings. Lu > Uu > uu clearly; UL, uL far below; "UU" has one seed only.
VALUES = {"Lu": [0.71, 0.72, 0.705], "Uu": [0.68, 0.69, 0.66], "uu": [0.60, 0.62, 0.61],
          "UL": [0.30, 0.31, 0.29], "uL": [0.20, 0.25, 0.22], "UU": [0.80]}


@pytest.mark.parametrize(("p", "expected"), [
    # m = 4, sorted 0.005, 0.01, 0.03, 0.04 -> x4 = 0.02, x3 = 0.03, x2 = 0.06, x1 = 0.04 -> running max 0.06
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
    ([0.6, 0.7], [1.0, 1.0]),  # 2 x 0.6 = 1.2 capped at 1; 0.7 lifted to the running max 1.0
    ([0.4, 0.9], [0.8, 0.9]),
    ([0.02], [0.02]),  # a family of one is unadjusted
    ([0.01, 0.01], [0.02, 0.02]),  # ties: 2 x 0.01, then max(0.02, 1 x 0.01)
    ([], []),
])
def test_holm_hand_computed(p, expected):
    assert holm(p) == pytest.approx(tuple(expected))


@pytest.mark.parametrize("bad", [[0.1, -0.01], [1.2], [float("nan")]])
def test_holm_refuses_non_probabilities(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm(bad)


@pytest.mark.parametrize(("text", "links"), [
    ("Lu ≥ Uu > uu", (("Lu", "≥", "Uu"), ("Uu", ">", "uu"))),
    ("Lu>=Uu", (("Lu", "≥", "Uu"),)),
    ("bs8 < bs16 <= bs32", (("bs8", "<", "bs16"), ("bs16", "≤", "bs32"))),
])
def test_parse_chain(text, links):
    assert parse_chain(text) == links


@pytest.mark.parametrize("text", ["Lu", "Lu ≥", "≥ Uu", "Lu = Uu", "Lu ≥ ≥ Uu"])
def test_parse_chain_refuses_malformed_claims(text):
    with pytest.raises(ValueError, match="bad chain"):
        parse_chain(text)


@pytest.mark.parametrize(("verdicts", "expected"), [
    (["agrees", "agrees"], "agrees"), (["agrees", "inconclusive"], "inconclusive"),
    (["agrees", "disagrees"], "disagrees"), (["inconclusive", "disagrees"], "disagrees"),
    (["inconclusive"], "inconclusive"),
])
def test_overall_rule(verdicts, expected):
    assert overall(verdicts) == expected


def test_chain_uses_holm_over_its_links():
    cv = chain("Lu ≥ Uu > uu", VALUES)
    raw = [stats.ttest_ind(VALUES[a], VALUES[b], equal_var=False).pvalue for a, b in (("Lu", "Uu"), ("Uu", "uu"))]
    assert [v.p for v in cv.links] == pytest.approx(raw)
    assert [v.p_adjusted for v in cv.links] == pytest.approx(holm(raw))
    assert [v.family for v in cv.links] == [2, 2] and cv.tested == 2
    assert cv.verdict == "agrees" and cv.text == "Lu ≥ Uu > uu"


def test_holm_turns_two_borderline_links_inconclusive():
    # each link alone has p ~ 0.044 (t = 2.9 on 4 df); Holm over two doubles both to ~ 0.088
    base = [0.0, 1.0, 2.0]
    shift = 2.9 * math.sqrt(2 / 3)
    values = {"a": [v + 2 * shift for v in base], "b": [v + shift for v in base], "c": base}
    assert compare(values["a"], values["b"]).verdict == "agrees"
    cv = chain("a > b > c", values)
    assert [v.verdict for v in cv.links] == ["inconclusive", "inconclusive"]
    assert cv.links[0].p_adjusted == pytest.approx(2 * cv.links[0].p)
    assert cv.verdict == "inconclusive"


def test_one_opposite_link_makes_the_chain_disagree():
    cv = chain("Uu ≥ Lu > uu", VALUES)
    assert [v.verdict for v in cv.links] == ["disagrees", "agrees"]
    assert cv.verdict == "disagrees"


def test_untested_link_stays_out_of_the_holm_family():
    cv = chain("UU > Lu > uu", VALUES)  # UU has one seed
    first, second = cv.links
    assert first.verdict == "inconclusive" and first.reason.startswith(NEEDS_SEEDS) and first.family == 1
    assert second.p_adjusted == second.p and second.verdict == "agrees"  # a family of one tested link
    assert cv.verdict == "inconclusive"


def test_missing_setting_counts_as_no_seeds():
    cv = chain("Lu ≥ XL", VALUES)
    assert cv.links[0].reason == f"{NEEDS_SEEDS} (n=3/0)" and cv.verdict == "inconclusive"


def test_below_all():
    cv = below_all(["UL", "uL"], list(VALUES), VALUES)
    assert len(cv.links) == 2 * 4  # UL, uL against Lu, Uu, uu, UU (not against each other)
    assert cv.tested == 6  # UU has one seed
    assert cv.verdict == "inconclusive"
    others = {k: v for k, v in VALUES.items() if k != "UU"}
    assert below_all(["UL", "uL"], list(others), others).verdict == "agrees"
    assert below_all(["Lu"], list(others), others).verdict == "disagrees"


def test_pairwise_across_conditions():
    glob = {8: [0.50, 0.52, 0.51], 16: [0.60, 0.61, 0.60]}
    loc = {8: [0.40, 0.41, 0.42], 16: [0.60, 0.62, 0.58], 32: [0.7, 0.71]}
    cv = pairwise(glob, loc, "≥", ("global", "local"))
    assert [(v.a, v.b) for v in cv.links] == [("global (8)", "local (8)"), ("global (16)", "local (16)"),
                                              ("global (32)", "local (32)")]
    assert [v.verdict for v in cv.links] == ["agrees", "inconclusive", "inconclusive"]
    assert cv.tested == 2 and cv.verdict == "inconclusive"
    assert cv.text == "global ≥ local at every condition"
