"""litlab.cluster.schedulers: ASHA per group of cells (no Ray cluster: the schedulers' decisions only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from litlab.cluster.schedulers import SCHEDULERS, build_scheduler, group_of, headline_metric, scheduler_problem
from litlab.cluster.tune import CellOutcome, _closed, _pack_outcomes
from litlab.config import ConfigError, RunConfig, apply_overrides
from litlab.grid import Study, expand
from ray.tune.schedulers import TrialScheduler

BASE = {"optim.steps": 60, "eval.every": 20, "eval.evals": ("zeroshot/emoji-vendors-heldout", "zeroshot/fmnist-test")}
METRIC = "zeroshot/emoji-vendors-heldout/top1"


def lr_cells(**base):
    cfg = apply_overrides(RunConfig(), {**BASE, **base})
    return expand(cfg, [Study("towers_lr", {"setup": ("Lu", "uu"), "optim.lr": (1e-4, 1e-3, 1e-2)})])


@dataclass
class Trial:  # what the schedulers read of a Tune trial
    trial_id: str
    config: dict = field(default_factory=dict)


def test_headline_is_the_first_zeroshot_top1_and_groups_leave_out_the_lr():
    cells = lr_cells()
    assert headline_metric(cells[0].config) == METRIC
    assert {group_of(c) for c in cells} == {"setup=Lu", "setup=uu"}


def test_asha_compares_a_cell_with_its_own_setting_only():
    cells = lr_cells()
    sched = build_scheduler("asha", cells)
    by = {(c.config.setup, c.config.optim.lr): Trial(c.id, {"cell": c.id}) for c in cells}
    for t in by.values():
        sched.on_trial_add(None, t)
    decide = lambda key, score: sched.on_trial_result(None, by[key], {"step": 20, METRIC: score})  # noqa: E731
    assert decide(("Lu", 1e-4), 0.5) == TrialScheduler.CONTINUE  # first of its group
    assert decide(("Lu", 1e-3), 0.1) == TrialScheduler.STOP  # below the top third of Lu's
    # uu's scores are all lower than Lu's, but uu is ranked against uu: its first cell goes on
    assert decide(("uu", 1e-4), 0.05) == TrialScheduler.CONTINUE
    assert decide(("uu", 1e-3), 0.2) == TrialScheduler.CONTINUE
    assert set(sched.groups) == {"setup=Lu", "setup=uu"}


def test_fifo_is_no_scheduler_and_bad_names_or_configs_are_named():
    assert build_scheduler("fifo", lr_cells()) is None
    assert SCHEDULERS == ("fifo", "asha")
    with pytest.raises(ConfigError, match="unknown scheduler 'hyperband'; valid: fifo, asha"):
        build_scheduler("hyperband", lr_cells())
    assert "eval.every=0" in scheduler_problem("asha", lr_cells(**{"eval.every": 0}))
    assert "no zeroshot/" in scheduler_problem("asha", lr_cells(**{"eval.evals": ("retrieval/emoji-heldout",)}))
    assert scheduler_problem("asha", lr_cells()) is None


@dataclass
class Result:  # what _pack_outcomes reads of a Tune result
    config: dict
    metrics: dict
    error: Exception | None = None


def test_a_trial_whose_last_report_is_intermediate_was_stopped():
    packs = {"c": {"cells": [{"cell_id": "c", "run_id": "r"}]}}
    mlflow = {"r": ("FINISHED", {METRIC: 0.3, "step": 60.0})}
    [stopped] = _pack_outcomes(Result({"cell": "c"}, {METRIC: 0.1, "step": 20}), packs, mlflow.__getitem__)
    assert (stopped.status, stopped.metrics) == ("STOPPED", {METRIC: 0.1, "step": 20.0})
    [done] = _pack_outcomes(Result({"cell": "c"}, {METRIC: 0.3, "step": 60, "cell_finished": 1.0}), packs,
                            mlflow.__getitem__)
    assert (done.status, done.metrics) == ("FINISHED", {METRIC: 0.3})  # from MLflow, its "/" metrics
    assert isinstance(done, CellOutcome)


def test_a_failed_pack_keeps_the_cells_it_finished():
    """A pack's trial failed in its second cell: the first stays FINISHED (as MLflow has it), the others FAILED
    with the trial's error."""
    packs = {"g": {"cells": [{"cell_id": f"c{i}", "run_id": f"r{i}"} for i in range(3)]}}
    mlflow = {"r0": ("FINISHED", {METRIC: 0.3}), "r1": ("FAILED", {}), "r2": ("RUNNING", {})}
    out = _pack_outcomes(Result({"cell": "g"}, {}, ValueError("x")), packs, mlflow.__getitem__)
    assert [(o.cell_id, o.status) for o in out] == [("c0", "FINISHED"), ("c1", "FAILED"), ("c2", "FAILED")]
    assert out[0].error == "" and out[1].error == out[2].error == "ValueError: x"


def test_a_rerun_skips_finished_and_scheduler_stopped_runs_only():
    assert _closed({"status": "FINISHED", "tags": {}})
    assert _closed({"status": "KILLED", "tags": {"stopped_by": "asha"}})
    assert not _closed({"status": "KILLED", "tags": {}})  # a killed driver's run: resumed
    assert not _closed({"status": "FAILED", "tags": {}})
