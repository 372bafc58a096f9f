"""The report's verdicts: every study's order check is a test over seeds that can agree, disagree or be
inconclusive, a one-seed setting is inconclusive (with the fix), and a column at chance is "no signal" and not
tested. Hand-made replicate groups (report_fixtures), the statistics from litlab.stats."""

from __future__ import annotations

from typing import Any

import pytest
from litlab.stats import chain, summarize
from litlab.stats.format import fmt_estimate
from report_fixtures import build, column, entry, rows_by_first, run, seeded
from scipy import stats

from ablations import report_header, report_render
from ablations.report_verdicts import ALPHA, TESTS

TIGHT = (0.0, 0.01, 0.02)  # seed-to-seed spread of a clearly separated setting: added to its level


def replicated(study: str, levels: dict[str, float], spread: tuple[float, ...] = TIGHT, metric: str = "zs",
               **fixed: Any) -> tuple[list[dict], list[dict]]:
    """One setting per ``levels`` key ("key=value;key=value" overrides), len(spread) seeds at level + spread[k]."""
    plan, runs = [], []
    for setting, level in levels.items():
        overrides = dict(kv.split("=", 1) for kv in setting.split(";")) | fixed
        entries = [entry(study, seed=k, **{k2.replace(".", "__"): v for k2, v in overrides.items()})
                   for k in range(len(spread))]
        plan += entries
        runs += [run(e, **{metric: level + d}) for e, d in zip(entries, spread, strict=True)]
    return plan, runs


TOWERS = {"setup=Lu": 0.70, "setup=Uu": 0.60, "setup=uu": 0.30, "setup=UL": 0.20, "setup=uL": 0.15}


def test_towers_chain_agrees_from_welch_over_seeds_with_the_test_and_alpha_named():
    rep = build("towers", *replicated("towers", TOWERS))
    check = rep.notes[0]
    assert "Lu ≥ Uu > uu: agrees [Lu 71.0±2.5 ≥ Uu 61.0±2.5: agrees (Welch t, Holm-adjusted p<0.001 over 2 " \
           "links, α=0.05; n=3/3)" in check
    assert "UL and uL below every other setting: agrees" in check
    assert "Welch's two-sided t-test" in TESTS and f"α = {ALPHA:g}" in TESTS and "Holm" in TESTS


def test_towers_chain_disagrees_when_the_seeds_put_it_the_other_way():
    rep = build("towers", *replicated("towers", {**TOWERS, "setup=Uu": 0.80}))
    assert "Lu ≥ Uu > uu: disagrees [Lu 71.0±2.5 ≥ Uu 81.0±2.5: disagrees" in rep.notes[0]


def test_overlapping_seeds_are_inconclusive_though_the_means_are_in_order():
    noisy = (0.0, -0.10, 0.10)  # s = 0.1 per setting; means 2 points apart
    rep = build("towers", *replicated("towers", {"setup=Lu": 0.62, "setup=Uu": 0.60}, noisy))
    p = stats.ttest_ind([0.62, 0.52, 0.72], [0.60, 0.50, 0.70], equal_var=False).pvalue  # scipy's Welch: 0.819
    assert f"Lu ≥ Uu: inconclusive [Lu 62.0±24.8 ≥ Uu 60.0±24.8: inconclusive (Welch t, p={p:.3f}, α=0.05; " \
           "n=3/3)] (uu not measured)" in rep.notes[0]
    assert "within seed noise" in chain("Lu ≥ Uu", {"Lu": [.62, .52, .72], "Uu": [.6, .5, .7]}).links[0].reason


def test_one_seed_per_setting_is_inconclusive_never_decided_from_two_point_values():
    rep = build("towers", *replicated("towers", TOWERS, (0.0,)))
    assert "Lu ≥ Uu > uu: inconclusive (needs >= 2 seeds per setting: run with --seeds 3) [Lu 70.0 ≥ Uu 60.0: " \
           "inconclusive (needs >= 2 seeds per setting; n=1/1)" in rep.notes[0]
    assert "agrees" not in rep.notes[0] and "disagrees" not in rep.notes[0]


def test_a_column_at_chance_is_no_signal_and_its_order_is_not_tested():
    at_chance = (0.0, -0.01, 0.01)
    rep = build("towers", *replicated("towers", {"setup=Lu": 0.10, "setup=Uu": 0.095, "setup=uu": 0.105}, at_chance))
    zs = column(rep.tables[0], "ours 0-shot")
    assert zs == "ours 0-shot top-1 % (fmnist-test; chance 10.0; no signal)"
    assert "Lu ≥ Uu > uu: no signal, not tested (every setting within chance 10.0" in rep.notes[0]
    assert any(n.startswith("No signal on `zeroshot/fmnist-test/top1`") for n in rep.notes)


def test_one_setting_above_chance_gives_the_column_signal():
    rep = build("towers", *replicated("towers", {"setup=Lu": 0.30, "setup=Uu": 0.10}))
    assert column(rep.tables[0], "ours 0-shot") == "ours 0-shot top-1 % (fmnist-test; chance 10.0)"
    assert not any(n.startswith("No signal") for n in rep.notes)


def test_a_column_whose_runs_logged_no_chance_level_says_so():
    plan, _ = seeded("towers", [0.5, 0.6], setup="Lu")
    rep = build("towers", plan, [run(e, facts=False, zs=v) for e, v in zip(plan, [0.5, 0.6], strict=True)])
    assert column(rep.tables[0], "ours 0-shot") == "ours 0-shot top-1 % (fmnist-test; chance not logged)"


def test_the_report_header_names_the_test_alpha_and_how_to_read_intervals():
    rep = build("towers", *replicated("towers", TOWERS))
    text = report_header.header("t", "sqlite:///x", [], [], [rep], [])
    assert "Welch's two-sided t-test over seeds" in text and "α = 0.05" in text
    assert "95 %" in text and "no signal" in text and "bootstrap" in text


# ---------------------------------------------------------------- every other study's check


def test_image_encoders_pretrained_over_random_init_agrees_per_architecture():
    levels = {"image.arch=efficientnet_lite0;setup=Lu": 0.6, "image.arch=efficientnet_lite0;setup=uu": 0.3}
    rep = build("image_encoders", *replicated("image_encoders", levels))
    assert "pretrained > random init at every condition: agrees" in " ".join(rep.notes)


def test_text_models_pretrained_over_random_init_disagrees_when_reversed():
    levels = {"text.arch=minilm_l6;text.tokenizer=wordpiece_minilm;setup=LU": 0.3,
              "text.arch=minilm_l6_scratch;text.tokenizer=wordpiece_minilm;setup=Lu": 0.6}
    rep = build("text_models", *replicated("text_models", levels))
    assert "pretrained > random init at every condition: disagrees" in " ".join(rep.notes)


def test_dedup_no_change_is_never_agrees_a_clear_change_disagrees():
    same = build("dedup", *replicated("dedup", {"data.dedup=none": 0.5, "data.dedup=test": 0.5}, (0.0, -0.05, 0.05)))
    moved = build("dedup", *replicated("dedup", {"data.dedup=none": 0.5, "data.dedup=test": 0.2}))
    assert "no change against none: inconclusive [test − none +0.0 [" in " ".join(same.notes)
    assert "no change against none: disagrees [test − none -30.0 [" in " ".join(moved.notes)


def test_precompute_speed_check_is_welch_on_the_runs_speeds():
    levels = {"train.precompute=True": 900.0, "train.precompute=False": 300.0}
    rep = build("precompute", *replicated("precompute", levels, (0.0, 10.0, 20.0), metric="pairs"))
    assert "precomputed > not at every condition: agrees [precomputed (ours: efficientnet_lite0 + transformer_tiny)" \
           " 910.0±24.8 > not" in " ".join(rep.notes)


def test_loss_global_over_worker_agrees_and_bigger_batches_are_a_slope_test():
    levels = {f"optim.negatives={n};data.batch_size={b}": base + 0.1 * i
              for n, base in (("global", 0.4), ("worker", 0.2)) for i, b in enumerate((16, 32, 64))}
    notes = " ".join(build("loss", *replicated("loss", levels)).notes)
    assert "global ≥ worker at every condition: agrees" in notes
    assert "global loss: zero-shot top-1 % increasing in batch size (16, 32, 64): agrees (OLS slope" in notes


# ---------------------------------------------------------------- loss: softmax vs sigmoid (SigLIP)


def loss_sweep(sigmoid_gain: dict[str, float]) -> tuple[list[dict], list[dict]]:
    """The loss study's two products as design_grid.py expands them: negatives x batch (softmax, Lu), and
    objective x setup x batch, whose softmax/Lu cells merged into the first product's global ones."""
    levels = {f"optim.negatives={n};data.batch_size={b}": 0.4 - 0.1 * (n == "worker") for n in ("global", "worker")
              for b in (16, 32)}
    levels |= {f"optim.objective=softmax;setup=Uu;data.batch_size={b}": 0.3 for b in (16, 32)}
    levels |= {f"optim.objective=sigmoid;setup={s};data.batch_size={b}": (0.4 if s == "Lu" else 0.3) + gain
               for s, gain in sigmoid_gain.items() for b in (16, 32)}
    return replicated("loss", levels)


def test_loss_objective_table_softmax_vs_sigmoid_by_setup_and_batch_with_intervals():
    rep = build("loss", *loss_sweep({"Lu": 0.2, "Uu": 0.0}))
    ((stem, table),) = rep.more
    rows = {(r[0], r[1]): r for r in table.text_rows()}
    assert stem == "loss_objective" and list(rows) == [("Lu", "16"), ("Lu", "32"), ("Uu", "16"), ("Uu", "32")]
    soft, sig = column(table, "softmax:"), column(table, "sigmoid:")
    assert soft.endswith("(fmnist-test; chance 10.0)")
    assert rows[("Lu", "16")][table.columns.index(sig)] == fmt_estimate(summarize([0.6, 0.61, 0.62]))
    assert rows[("Uu", "32")][table.columns.index(soft)] == "31.0 ± 2.5 (n=3)"
    neg = rows_by_first(rep.tables[0])
    assert list(neg) == ["16", "32"]  # the negatives table keeps to softmax at Lu, the Uu/sigmoid runs stay out
    notes = " ".join(rep.notes)
    assert "Sigmoid vs softmax at the smallest batch size, zero-shot top-1 %: sigmoid ≥ softmax at every " \
           "condition: inconclusive [sigmoid (Lu, batch 16) 61.0±2.5 ≥ softmax (Lu, batch 16) 41.0±2.5: agrees" \
           in notes
    assert "sigmoid (Uu, batch 16) 31.0±2.5 ≥ softmax (Uu, batch 16) 31.0±2.5: inconclusive" in notes
    assert "SigLIP" in notes and "arXiv 2303.15343" in notes
    assert [s.label for s in rep.plots[1].series] == ["softmax (Lu)", "sigmoid (Lu)", "softmax (Uu)", "sigmoid (Uu)"]


def test_loss_objective_agrees_when_sigmoid_wins_at_small_batch_in_every_setup():
    notes = " ".join(build("loss", *loss_sweep({"Lu": 0.2, "Uu": 0.2})).notes)
    assert "sigmoid ≥ softmax at every condition: agrees" in notes


def test_the_objective_part_run_alone_keeps_its_softmax_uu_cells_out_of_the_negatives_table():
    """The README's loss run: only the objective product (--cell), so no worker-negatives cell says which setup the
    Appendix F table is at: it is the base config's (Lu), not the objective part's Uu."""
    levels = {f"optim.negatives=global;data.batch_size={b}": 0.4 + 0.1 * i for i, b in enumerate((16, 32, 64))}
    levels |= {f"optim.objective=softmax;setup=Uu;data.batch_size={b}": 0.3 for b in (16, 32, 64)}
    levels |= {f"optim.objective=sigmoid;setup={s};data.batch_size={b}": 0.35 for s in ("Lu", "Uu")
               for b in (16, 32, 64)}
    rep = build("loss", *replicated("loss", levels))
    assert list(rows_by_first(rep.tables[0])) == ["16", "32", "64"]
    assert "global loss: zero-shot top-1 % increasing in batch size (16, 32, 64): agrees" in " ".join(rep.notes)


def test_loss_without_a_sigmoid_setting_has_no_objective_part():
    levels = {f"optim.negatives={n};data.batch_size=16": 0.4 for n in ("global", "worker")}
    rep = build("loss", *replicated("loss", levels))
    assert rep.more == () and len(rep.plots) == 1 and "Sigmoid" not in " ".join(rep.notes)


@pytest.mark.parametrize("fmt", ["csv", "latex", "markdown"])
def test_the_objective_table_is_rendered_with_its_intervals(fmt):
    rep = build("loss", *loss_sweep({"Lu": 0.2, "Uu": 0.0}))
    if fmt == "csv":
        text = report_render.csv_text(rep.more[0][1])
        assert "sigmoid: ours 0-shot top-1 % (fmnist-test; chance 10.0) low" in text.splitlines()[0]
    elif fmt == "latex":
        text = report_render.study_latex(rep)
        assert text.count(r"\begin{tabular}") == 2 and r"61.0 $\pm$ 2.5 (n=3)" in text
    else:
        text = report_render.study_markdown(rep)
        assert "**Softmax vs sigmoid objective by batch size" in text and "| Lu | 16 | 41.0 ± 2.5 (n=3) |" in text
