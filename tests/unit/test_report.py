"""ablations/report.py: sweep runs + plan -> the paper's ablation tables (md, csv, LaTeX), curves and report.md.

Runs and plans are built by hand in the shape of litlab.cluster.tracking.fetch_cell_runs / fetch_sweep_plan; no MLflow.
The builders: report_fixtures.py. The rendering and the script (`main`): test_report_render.py.
"""

from __future__ import annotations

import dataclasses
import struct

import pytest
from litlab.stats import item_bootstrap
from litlab.stats.format import fmt_estimate
from report_fixtures import (
    PNG_MAGIC,
    ZS,
    build,
    cell_id,
    column,
    entry,
    rows_by_first,
    run,
    seeded,
    towers_seeds,
    towers_sweep,
)
from scipy import stats

from ablations import paper, report_plots, report_render, report_values, study_tables
from ablations.report_cells import MissingCellsError, check_missing, resolve_study
from ablations.report_groups import group_cells

# ---------------------------------------------------------------- the paper's numbers


def test_paper_numbers_carry_their_table():
    assert paper.TABLE2.row("Lu").get("ImgNet").cited() == "70.1 (Table 2)"
    assert [r.get("Pets").value for r in paper.TABLE2.rows] == [88.1, 74.8, 70.3]
    assert paper.TABLE2.row("uu").get("CIFAR-100").value == 47.9
    bert = paper.table4_row("BERT", "WP")
    assert bert.get("IN 0-shot").text() == "58.8 (+0.7)" and bert.get("T→I").source == "Table 4"
    assert paper.table4_row("ViT", "SP").get("IN 0-shot").gain is None
    assert paper.TABLE4.row("private, BERT + WP").get("I→T").value == 43.8
    assert paper.TABLE3.row("AugReg (Places)").get("full IN") is None
    assert paper.TABLE3.row("DINO (IN)").get("I→T").value == 33.4
    assert paper.TABLE5.row("test").texts() == ("2.6M", "76K", "70.2", "43.3", "28.3")
    assert paper.TABLE9.row("train+test").texts() == ("80.0", "49.6", "34.6")
    assert paper.TABLE7.row("g/14 + B").get("speed not").text() == "17"
    assert paper.FIGURE3.source == "Figure 3" and "locking the text" in paper.FIGURE3.text
    assert "global" in paper.APPENDIX_F.text and paper.APPENDIX_F.source.startswith("Appendix F")
    assert paper.towers_reference("UL") is None


def test_every_paper_number_names_its_source_and_is_frozen():
    for table in (paper.TABLE2, paper.TABLE3, paper.TABLE4, paper.TABLE5, paper.TABLE9, paper.TABLE7):
        for row in table.rows:
            for _, number in row.numbers:
                if number is not None:
                    assert number.source == table.source and row.label in number.what
    with pytest.raises(dataclasses.FrozenInstanceError):
        paper.TABLE2.row("Lu").get("ImgNet").value = 99.0  # type: ignore[misc]


# ---------------------------------------------------------------- cells: finished, failed, missing


def test_newest_finished_run_wins_failed_only_shows_failed_running_only_is_missing():
    plan = [entry("towers", setup=s) for s in ("Lu", "uu", "Uu", "UL")]
    lu, uu, uU, ul = plan
    runs = [run(lu, t=300, status="FAILED", error="RuntimeError: later crash"), run(lu, t=200, zs=0.5),
            run(lu, t=100, zs=0.1), run(uu, t=50, status="FAILED", error="ValueError: boom"),
            run(uU, t=70, status="RUNNING"), run(uU, t=60, status="KILLED")]
    cells = {c.cell: c for c in resolve_study(plan, runs, "towers")}
    assert cells["setup=Lu"].status == "finished" and cells["setup=Lu"].metric(ZS) == 0.5
    assert cells["setup=uu"].status == "failed" and cells["setup=uu"].error == "ValueError: boom"
    assert cells["setup=Uu"].status == "missing" and "KILLED/RUNNING" in cells["setup=Uu"].reason
    assert cells["setup=UL"].reason == "no run"


def test_plan_config_hash_ignores_runs_of_an_older_config():
    e = {**entry("towers", setup="Lu"), "config_hash": "new"}
    old = run(e, zs=0.9)
    old["tags"]["config_hash"] = "old"
    (cell,) = resolve_study([e], [old], "towers")
    assert cell.status == "missing" and "config_hash new" in cell.reason


def test_missing_cells_error_names_every_one():
    plan = [entry("towers", setup="Lu"), entry("towers", setup="uu"), entry("dedup", data__dedup="test")]
    resolved = {s: resolve_study(plan, [run(plan[0], zs=0.4)], s) for s in ("towers", "dedup")}
    with pytest.raises(MissingCellsError) as err:
        check_missing(resolved)
    text = str(err.value)
    assert "2 expected cell(s)" in text and "towers: setup=uu (no run)" in text
    assert "dedup: data.dedup=test" in text and "--allow-missing" in text and "setup=Lu" not in text


# ---------------------------------------------------------------- replicate groups


def test_replicates_of_a_setting_form_one_group_with_their_seeds_values():
    plan, runs = seeded("towers", [0.5, 0.6, 0.7], setup="Lu")
    runs[1] = run(plan[1], status="FAILED", error="RuntimeError: worker died")
    (group,) = group_cells(resolve_study(plan, runs, "towers"))
    assert group.id == "setup=Lu" and [c.cell for c in group.replicates] == ["setup=Lu", "setup=Lu,seed=1",
                                                                              "setup=Lu,seed=2"]
    assert group.status == "finished" and group.values(ZS) == (0.5, 0.7)
    assert group.errors == ("RuntimeError: worker died",)
    assert group.overrides == {"setup": "Lu"} and group.setting("setup") == "Lu"  # the seed is not part of it
    est = group.estimate(ZS)
    assert (est.n, est.method, est.mean) == (2, "t over seeds", pytest.approx(0.6))


def test_a_plan_without_replicate_groups_groups_by_the_id_rule():
    plan = [{k: v for k, v in entry("towers", seed=s, setup="Lu").items() if k != "replicate_group"} for s in (0, 1)]
    (group,) = group_cells(resolve_study(plan, [run(e, zs=0.5) for e in plan], "towers"))
    assert len(group.replicates) == 2


# ---------------------------------------------------------------- towers (Figure 3)


def test_towers_table_shows_the_largest_step_count_with_table2_beside():
    rep = build("towers", *towers_sweep())
    table = rep.tables[0]
    rows = rows_by_first(table)
    zs = column(table, "ours 0-shot top-1 %")
    assert zs == "ours 0-shot top-1 % (fmnist-test; chance 10.0)"  # every metric column gives its chance level
    assert list(rows) == ["LU", "Lu", "Uu", "uu", "UL", "uL"]  # the paper's order
    lu = rows["Lu"]
    assert lu["steps"] == "300" and lu[zs] == "77.1 [74.5, 79.7] (1 run, 1000 items)"  # one run: bootstrap
    assert lu["paper ImageNet 0-shot (Table 2)"] == "70.1 (Table 2)"
    assert rows["uu"]["paper ImageNet 0-shot (Table 2)"] == "50.6 (Table 2)"
    assert rows["LU"]["paper ImageNet 0-shot (Table 2)"] == "-"
    assert rows["uL"][zs] == "FAILED"
    assert rows["uL"]["runs"].startswith("FAILED: ValueError: text tower 'x' | locked")
    notes = " ".join(rep.notes)
    assert "Figure 3" in notes and "Table 2" in notes and "88.1" in notes  # Table 2's other datasets too
    assert "FAILED cell `setup=uL,optim.steps=300`" in notes


def test_towers_table_over_seeds_shows_mean_interval_and_n():
    rep = build("towers", *towers_seeds({"Lu": [0.5, 0.52, 0.55], "uu": [0.2, 0.25, 0.22]}))
    rows = rows_by_first(rep.tables[0])
    zs = column(rep.tables[0], "ours 0-shot top-1 %")
    assert rows["Lu"][zs] == "52.3 ± 6.3 (n=3)"  # t over 3 seeds: 2.2 / sqrt(3)... (see test_stats_estimate)
    assert rep.tables[0].title.endswith("(2 settings x 3 seeds)")
    assert rows["Lu"]["runs"].count(" ") == 2  # the three seeds' runs


def test_towers_curve_has_one_line_per_setting_and_is_a_real_png(tmp_path):
    rep = build("towers", *towers_sweep())
    (plot,) = rep.plots
    assert [s.label for s in plot.series] == ["LU", "Lu", "Uu", "uu", "UL"]  # uL only failed: no points
    assert plot.series[1].points == ((100.0, pytest.approx(50.1)), (300.0, pytest.approx(77.1)))
    fig = report_plots.figure(plot)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 5 and ax.get_xlabel() == "training steps"
    assert list(ax.get_lines()[1].get_ydata()) == pytest.approx([50.1, 77.1])
    assert not ax.collections  # one seed per point: no band to draw
    data = report_plots.save_png(plot, tmp_path).read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    assert data[:8] == PNG_MAGIC and (width, height) == (768, 504) and len(data) > 10_000


def test_curves_get_a_band_over_seeds():
    plan, runs = [], []
    for steps, values in ((100, [0.3, 0.35, 0.4]), (300, [0.5, 0.6, 0.7])):
        p, r = seeded("towers", values, setup="Lu", optim__steps=steps)
        plan, runs = plan + p, runs + r
    (series,) = build("towers", plan, runs).plots[0].series
    assert series.points == ((100.0, pytest.approx(35.0)), (300.0, pytest.approx(60.0))) and series.n == (3, 3)
    half = stats.t.ppf(0.975, 2) * 10.0 / 3**0.5  # sd 10 points over 3 seeds
    assert series.low[1] == pytest.approx(60.0 - half) and series.high[1] == pytest.approx(60.0 + half)
    (ax,) = report_plots.figure(build("towers", plan, runs).plots[0]).axes
    assert len(ax.collections) == 1  # the shaded band


def test_a_setting_run_at_one_step_count_is_drawn_from_its_evaluations_during_training():
    plan, runs = seeded("towers", [0.8, 0.9], setup="Lu", optim__steps=100)
    runs[0]["history"] = {ZS: [(50, 0.6), (25, 0.4), (100, 0.8)]}
    runs[1]["history"] = {ZS: [(50, 0.7), (25, 0.4), (100, 0.9)]}
    (series,) = build("towers", plan, runs).plots[0].series
    assert series.points == ((25.0, pytest.approx(40.0)), (50.0, pytest.approx(65.0)), (100.0, pytest.approx(85.0)))
    assert series.n == (2, 2, 2)


# ---------------------------------------------------------------- the other studies


def test_image_encoders_rows_and_reference():
    plan = [entry("image_encoders", **{"image.arch": a, "setup": s})
            for a, s in (("efficientnet_lite0", "Lu"), ("mobilenet_v2", "Lu"), ("efficientnet_lite0", "uu"))]
    runs = [run(plan[0], zs=0.6, i2t=0.3, t2i=0.2, few=0.7), run(plan[1], zs=0.5, i2t=0.25, t2i=0.1),
            run(plan[2], zs=0.2, i2t=0.05, t2i=0.04)]
    rep = build("image_encoders", plan, runs)
    table = rep.tables[0]
    rows = rows_by_first(table)
    few, t2i = column(table, "ours 10-shot"), column(table, "ours T→I")
    assert few == "ours 10-shot top-1 % (fmnist-idx-train+fmnist-idx-test; chance not logged)"
    assert list(rows) == ["efficientnet_lite0", "mobilenet_v2", "efficientnet_lite0 (random init)"]
    assert rows["efficientnet_lite0"][few] == "70.0 (1 run, no interval)"  # a mean over draws: no item bootstrap
    assert rows["mobilenet_v2"][few] == "n/a"
    assert rows["efficientnet_lite0 (random init)"][t2i] == "4.0 [1.5, 7.0] (1 run, 200 items)"
    ref = rep.tables[1]
    assert "Table 3" in ref.title and rows_by_first(ref)["AugReg (IN)"]["0-shot"] == "64.3"
    assert "ViT-B/16" in rep.notes[0]
    assert "pretrained (efficientnet_lite0) 60.0 > random init (efficientnet_lite0) 20.0: inconclusive" in rep.notes[1]


def test_text_models_labels_and_table4_beside():
    combos = [("Lu", "transformer_tiny", "wordpiece_minilm"), ("LU", "minilm_l6", "wordpiece_minilm"),
              ("Lu", "minilm_l6", "wordpiece_minilm"), ("Lu", "t5_tiny", "sentencepiece_mistral"),
              ("Lu", "bert_tiny", "bpe_clip")]
    plan = [entry("text_models", setup=s, **{"text.arch": a, "text.tokenizer": t}) for s, a, t in combos]
    runs = [run(e, zs=0.3 + i / 10, i2t=0.1, t2i=0.05) for i, e in enumerate(plan)]
    rep = build("text_models", plan, runs)
    rows = rows_by_first(rep.tables[0])
    zs = column(rep.tables[0], "ours 0-shot")
    assert list(rows) == ["ViT (text transformer tiny, random init) + WP", "BERT (MiniLM-L6, pretrained) + WP",
                          "BERT (MiniLM-L6, random init) + WP", "T5 (tiny, random init) + SP",
                          "BERT (tiny, random init) + BPE"]
    bert = rows["BERT (MiniLM-L6, pretrained) + WP"]
    assert bert[zs].startswith("40.0 [") and bert["paper IN 0-shot (Table 4, YFCC-CLIP)"] == "58.8 (+0.7)"
    assert bert["paper T→I (Table 4)"] == "20.0 (+0.7)"
    assert rows["ViT (text transformer tiny, random init) + WP"]["paper I→T (Table 4)"] == "28.2"
    assert rows["T5 (tiny, random init) + SP"]["paper IN 0-shot (Table 4, YFCC-CLIP)"] == "57.8 (+1.4)"
    assert rows["BERT (tiny, random init) + BPE"]["paper IN 0-shot (Table 4, YFCC-CLIP)"] == "-"
    assert "BERT (MiniLM-L6) + WP: -10.0 (paper: +0.7, Table 4)" in " ".join(rep.notes)
    assert len(rep.tables[1].rows) == 8  # the whole of Table 4, private data included


def test_dedup_counts_and_table5_beside():
    plan = [entry("dedup", data__dedup=d) for d in ("train+test", "none", "test")]
    runs = [run(plan[0], zs=0.5, i2t=0.2, t2i=0.1, tune=120.0, evalm=33.0), run(plan[1], zs=0.52, tune=0.0, evalm=0.0),
            run(plan[2], zs=0.51, tune=80.0, evalm=12.0)]
    rep = build("dedup", plan, runs)
    rows = rows_by_first(rep.tables[0])
    assert list(rows) == ["none", "test", "train+test"]
    assert rows["train+test"]["ours #tune removed"] == "120" and rows["train+test"]["ours #eval matched"] == "33"
    assert rows["test"]["paper #tune (Table 5)"] == "2.6M" and rows["test"]["paper #eval (Table 5)"] == "76K"
    assert rows["none"]["paper IN (Table 5)"] == "70.2"
    assert rows["none"][column(rep.tables[0], "ours I→T")] == "n/a"
    assert "Table 9" in rep.tables[1].title and rows_by_first(rep.tables[1])["none"]["IN"] == "80.2"
    assert "Spread of the means: 2.0 points; paper 0.3 points" in " ".join(rep.notes)


def test_loss_grid_and_curve():
    plan = [entry("loss", optim__negatives=lo, data__batch_size=b) for lo in ("global", "worker") for b in (32, 64)]
    values = {("global", 32): 0.4, ("global", 64): 0.5, ("worker", 32): 0.3}
    runs = [run(e, zs=values[(e["overrides"]["optim.negatives"], e["overrides"]["data.batch_size"])])
            for e in plan[:3]] + [run(plan[3], status="FAILED", error="OSError: disk full")]
    rep = build("loss", plan, runs)
    rows = rows_by_first(rep.tables[0])
    g, w = column(rep.tables[0], "global:"), column(rep.tables[0], "worker:")
    assert g == "global: ours 0-shot top-1 % (fmnist-test; chance 10.0)"
    assert rows["32"][g].startswith("40.0 [") and rows["32"][w].startswith("30.0 [")
    assert rows["64"][w] == "FAILED: OSError: disk full"
    assert "Appendix F" in " ".join(rep.notes)
    assert [s.label for s in rep.plots[0].series] == ["global", "worker"]
    assert len(report_plots.figure(rep.plots[0]).axes[0].get_lines()) == 2


def test_precompute_speedup_and_table7_beside():
    plan = [entry("precompute", setup="Lu", train__precompute=p) for p in (False, True)]  # shared setup: no label
    runs = [run(plan[0], zs=0.4, pairs=300.0), run(plan[1], zs=0.41, pairs=900.0)]
    rep = build("precompute", plan, runs)
    rows = rows_by_first(rep.tables[0])
    ours = rows["ours: efficientnet_lite0 + transformer_tiny"]
    assert ours["speed precomputed"] == "900.0 (1 run, no interval)" and ours["speed not"].startswith("300.0")
    assert ours["speed-up (precomputed / not, means)"] == "3.00x"
    assert ours["0-shot top-1 % not (fmnist-test; chance 10.0)"] == "40.0 [37.0, 43.0] (1 run, 1000 items)"
    b32 = rows["paper: B/32 + B"]
    assert (b32["speed precomputed"], b32["speed not"], b32["speed-up (precomputed / not, means)"]) == (
        "2439", "893", "2.73x")
    assert "TPUv3" in b32["unit, hardware"] and "TPUv3" in rep.notes[0]
    assert rows_by_first(rep.tables[1])["L/16 + B"]["max batch not"] == "1663"


def test_unknown_study_gets_a_generic_table():
    plan = [entry("schedules", optim__lr=1e-3), entry("schedules", optim__lr=1e-4)]
    rep = build("schedules", plan, [run(plan[0], zs=0.25, loss=1.5)])
    rows = rows_by_first(rep.tables[0])
    assert rows["optim.lr=0.001"][column(rep.tables[0], "ours 0-shot")].startswith("25.0 [")
    assert rows["optim.lr=0.001"]["final train loss"] == "1.500 (1 run, no interval)"
    assert rows["optim.lr=0.0001"]["status"] == "missing" and rows["optim.lr=0.0001"]["runs"] == "-"


# ---------------------------------------------------------------- every registered study: failed and missing cells

STUDY_CELLS = {
    "towers": [{"setup": s, "optim.steps": 200} for s in ("Lu", "uu", "UL")],
    "towers_lr": [{"setup": "Lu", "optim.lr": lr} for lr in (3e-4, 1e-3, 3e-3)],
    "image_encoders": [{"image.arch": a} for a in ("efficientnet_lite0", "mobilenet_v2", "resnet18")],
    "text_models": [{"text.arch": a} for a in ("transformer_tiny", "t5_tiny", "bert_tiny")],
    "dedup": [{"data.dedup": d} for d in ("none", "test", "train+test")],
    "loss": [{"optim.negatives": "global", "data.batch_size": b} for b in (16, 32, 64)],
    "precompute": [{"train.precompute": False, "image.arch": a} for a in ("efficientnet_lite0", "mobilenet_v2",
                                                                         "resnet18")],
}


def test_every_registered_study_has_a_parametrized_case():
    assert set(study_tables.STUDY_TABLES) == set(STUDY_CELLS)


@pytest.mark.parametrize("study", list(study_tables.STUDY_TABLES))
def test_registered_study_shows_failed_and_missing_cells(study):
    plan = [{"cell": cell_id(o), "studies": [study], "overrides": o} for o in STUDY_CELLS[study]]
    runs = [run(plan[0], zs=0.423), run(plan[1], status="FAILED", error="RuntimeError: worker died")]
    rep = build(study, plan, runs)
    assert rep.study == study
    ours = rep.tables[0]
    text = "\n".join(" ".join(r) for r in ours.text_rows())
    assert fmt_estimate(item_bootstrap(423, 1000)) in text and "FAILED" in text  # one run: bootstrap over items
    assert "RuntimeError: worker died" in text + " ".join(rep.notes)
    assert any(c == "-" for r in ours.text_rows() for c in r[1:])  # the missing cell's dash
    notes = " ".join(rep.notes)
    assert f"FAILED cell `{plan[1]['cell']}`" in notes and f"Missing cell `{plan[2]['cell']}`" in notes
    assert any("Table" in t.title or "Table" in " ".join(t.columns) for t in rep.tables) or "Appendix F" in notes
    latex = report_render.study_latex(rep)
    assert latex.count(r"\begin{tabular}") == len(rep.ours()) + len(rep.tables) - 1
    assert not {"→", "≥", "±", "α"} & set(latex)


def test_the_report_asks_only_for_metrics_an_evaluator_declares():
    assert report_values.declared("fewshot", "10shot/top1") == ("fewshot", "10shot/top1")
    with pytest.raises(LookupError, match="'zeroshot' declares no metric 'top3'; it declares: top1, top5"):
        report_values.declared("zeroshot", "top3")
