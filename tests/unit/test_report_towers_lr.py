"""ablations/table_towers_lr.py: the learning-rate search table, each setting's best lr by mean over seeds, the order
check over the seeds at it."""

from __future__ import annotations

import pytest
from report_fixtures import ZS, build, column, entry, rows_by_first, run, seeded

from ablations import report_plots

TOP1 = {  # setup -> top-1 at lr 3e-4, 1e-3, 3e-3 (mean over seeds; the seeds spread by +-0.01 around it)
    "Lu": (0.712, 0.735, 0.70),
    "Uu": (0.60, 0.709, 0.65),
    "uu": (0.181, 0.114, 0.10),
    "UL": (0.693, 0.819, 0.80),
}
LRS = (3e-4, 1e-3, 3e-3)
SPREAD = (-0.01, 0.0, 0.01)


def lr_sweep(seeds=SPREAD):
    plan, runs = [], []
    for setup, values in TOP1.items():
        for lr, v in zip(LRS, values, strict=True):
            p, r = seeded("towers_lr", [v + d for d in seeds], setup=setup, optim__lr=lr)
            plan, runs = plan + p, runs + r
    plan.append(entry("towers_lr", setup="uL", optim__lr=3e-4))
    runs.append(run(plan[-1], status="FAILED", error="RuntimeError: worker died"))
    plan.append(entry("towers_lr", setup="uL", optim__lr=1e-3))  # no run: missing
    return plan, runs


def test_one_row_per_setting_one_column_per_lr_and_the_best_of_them():
    rep = build("towers_lr", *lr_sweep())
    table = rep.tables[0]
    assert table.columns[:4] == ("setup", "lr 0.0003", "lr 0.001", "lr 0.003")
    best = column(table, "best: ")
    assert best == "best: ours 0-shot top-1 % (fmnist-test; chance 10.0)"
    rows = rows_by_first(table)
    assert list(rows) == ["Lu", "Uu", "uu", "UL", "uL"]  # the paper's order
    assert rows["uu"]["lr 0.0003"] == "18.1 ± 2.5 (n=3)" and rows["uu"]["best lr"] == "0.0003"
    assert rows["uu"][best] == "18.1 ± 2.5 (n=3)"
    assert rows["Lu"]["best lr"] == "0.001" and rows["Lu"]["paper ImageNet 0-shot (Table 2)"] == "70.1 (Table 2)"
    assert rows["uL"]["lr 0.0003"] == "FAILED" and rows["uL"]["lr 0.001"] == "-" and rows["uL"]["best lr"] == "-"
    assert rows["uL"]["lr 0.003"] == "-"  # not in the plan at all
    assert "3 seeds" in table.title


def test_order_check_runs_on_the_seeds_at_each_settings_best_lr():
    rep = build("towers_lr", *lr_sweep())
    check = rep.notes[0]
    assert "Lu 0.001, Uu 0.001, uu 0.0003, UL 0.001" in check
    assert "Lu ≥ Uu > uu: agrees [Lu 73.5±2.5 ≥ Uu 70.9±2.5: agrees (Welch t, Holm-adjusted" in check
    assert "UL below every other setting: disagrees [UL 81.9±2.5 < Lu 73.5±2.5: disagrees" in check
    assert "picked by mean over seeds" in rep.notes[2]
    plan, runs = lr_sweep()
    for r in runs:
        if r["tags"]["setup"] == "Uu" and r["params"]["optim.lr"] == "0.003":
            r["metrics"][ZS] += 0.34  # Uu's best moves to another lr and overtakes Lu
    moved = build("towers_lr", plan, runs).notes[0]
    assert "Uu 0.003" in moved and "Lu ≥ Uu > uu: disagrees [Lu 73.5±2.5 ≥ Uu 99.0±2.5: disagrees" in moved


def test_one_seed_per_lr_is_inconclusive_and_says_how_to_fix_it():
    check = build("towers_lr", *lr_sweep(seeds=(0.0,))).notes[0]
    assert "Lu ≥ Uu > uu: inconclusive (needs >= 2 seeds per setting: run with --seeds 3) [Lu 73.5 ≥ Uu 70.9" in check


def test_curve_per_setting_over_lr_with_its_band(tmp_path):
    (plot,) = build("towers_lr", *lr_sweep()).plots
    assert [s.label for s in plot.series] == ["Lu", "Uu", "uu", "UL"]  # uL has no measured point
    assert plot.series[2].points == ((3e-4, pytest.approx(18.1)), (1e-3, pytest.approx(11.4)),
                                     (3e-3, pytest.approx(10.0)))
    assert plot.series[2].n == (3, 3, 3) and plot.series[2].low[0] == pytest.approx(18.1 - 2.484, abs=1e-3)
    (ax,) = report_plots.figure(plot).axes
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 4 and len(ax.collections) == 4
    assert report_plots.save_png(plot, tmp_path).stat().st_size > 10_000


def test_a_best_lr_at_the_edge_of_the_search_is_called_a_lower_bound():
    rep = build("towers_lr", *lr_sweep())
    assert rep.notes[1] == ("Search range 0.0003-0.003: best lr at its edge for uu at 0.0003 (lowest); a wider "
                            "search might do better there, so those values are lower bounds.")
    plan, runs = lr_sweep()
    for r in runs:
        if r["tags"]["setup"] == "uu" and r["params"]["optim.lr"] == "0.001":
            r["metrics"][ZS] += 0.4
    inside = "Search range 0.0003-0.003: every setting's best lr lies inside it."
    assert build("towers_lr", plan, runs).notes[1] == inside


def test_cells_a_scheduler_stopped_are_shown_as_stopped_not_missing_and_never_win():
    from ablations.report_cells import check_missing, resolve_study

    plan, runs = lr_sweep()
    every_seed = [r for r in runs if r["tags"]["setup"] == "Lu" and r["params"]["optim.lr"] == str(3e-3)]
    one_seed = next(r for r in runs if r["tags"]["setup"] == "Uu" and r["params"]["optim.lr"] == str(1e-3))
    for stopped in [*every_seed, one_seed]:  # ASHA stops trials, i.e. one seed of a setting at a time
        stopped.update(status="KILLED", metrics={ZS: 0.99})  # its live value is not a final evaluation
        stopped["tags"].update(stopped_by="asha", stopped_at_step="20")
    cells = resolve_study(plan, runs, "towers_lr")
    (cell,) = [c for c in cells if c.run is every_seed[0]]
    assert (cell.status, cell.reason, cell.metric(ZS)) == ("stopped", "stopped by asha at step 20", None)
    check_missing({"towers_lr": [c for c in cells if c.status != "missing"]})  # a stopped cell is not missing
    rep = build("towers_lr", plan, runs)
    rows = rows_by_first(rep.tables[0])
    assert rows["Lu"]["lr 0.003"] == "stopped" and rows["Lu"]["best lr"] == "0.001"
    n = len(every_seed)
    assert rows["Uu"]["lr 0.001"].endswith(f"(n={n - 1})")  # the stopped seed's 0.99 is not among the values
    assert any("stopped by asha at step 20" in n for n in rep.notes)
