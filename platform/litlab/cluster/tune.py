"""Ray Tune: a sweep of cells; each trial is a small driver that fits one TorchTrainer (Train V2 pattern) for a
pack of cells (``litlab.cluster.packs``: under fifo every cell that can share its workers, one cell under a scheduler).

MLflow layout: one experiment per sweep, a parent run per invocation, a child run per cell created here (so
run ids are known before any trial starts), finished by rank 0 of the Train run that trains it, or failed by its
trial. Each invocation that trains a cell claims its run (``litlab.cluster.attempts``): actors of an earlier, killed
invocation can no longer write its checkpoints, history or status; the earlier invocation's parent run is marked
KILLED.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ray import tune
from ray.tune.execution import class_cache

from litlab.cluster import console
from litlab.cluster.attempts import claim_invocation, close_stale_parents
from litlab.cluster.finish import fail_cell
from litlab.cluster.orphans import remove_orphans
from litlab.cluster.packs import PackCell, checkpoint_folder, fit_pack, pack_keys, pack_name, slug
from litlab.cluster.progress import FINISHED_KEY, fit_reporting, new_progress, numeric
from litlab.cluster.schedulers import PerGroup
from litlab.cluster.tracking import (
    CHECKPOINTS_TAG,
    RunLogger,
    cell_tags,
    client,
    create_cell_run,
    ensure_experiment,
    fetch_cell_runs,
    log_sweep_plan,
)
from litlab.config import from_dict, to_dict
from litlab.grid import Cell

# A trial only drives a TorchTrainer (its workers ask for their own CPUs), so it holds memory, not CPU: any
# fraction of a CPU here would leave less than the whole CPU that Ray Data's file-listing task needs.
TRIAL_RESOURCES = {"cpu": 0, "memory": 256 * 2**20}
SECRET_ENV_VARS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"}


@dataclass(frozen=True)
class CellOutcome:
    """What the sweep returns per cell (the report's per-cell record is ablations' CellResult, read from MLflow)."""

    cell_id: str
    run_id: str
    status: str  # FINISHED | FAILED | STOPPED (by the sweep's scheduler, litlab.cluster.schedulers)
    metrics: dict[str, float]
    error: str = ""


def run_trial(config: dict[str, Any], packs: dict[str, dict[str, Any]], progress: Any = None) -> None:
    """One Tune trial: fit a pack (its cells in turn, each run closed as it ends: litlab.cluster.packs), reporting
    its evaluations to Tune as they come; a failure closes the pack's unfinished runs FAILED."""
    began = time.time()
    pack = packs[config["cell"]]
    first = pack["cells"][0]
    console.cell_started(first["cell_id"], first["run_id"])  # the later cells' starts come from rank 0
    remove_orphans()  # a worker group an earlier trial's Train run left holding CPUs (litlab.cluster.orphans)
    cells = [PackCell(from_dict(c["run"]), c["run_id"], c["cell_id"]) for c in pack["cells"]]
    try:
        result = fit_reporting(lambda: fit_pack(
            cells, name=pack["name"], storage_root=pack["storage"], tracking_uri=pack["tracking_uri"],
            invocation=pack["invocation"], progress=progress, began=began), progress, pack["name"])
    except Exception as err:
        remove_orphans()  # this trial's, when its Train run failed without shutting its workers down
        for cell in cells:
            _close_failed(pack, cell, err)
        raise
    tune.report({**numeric(result.metrics), FINISHED_KEY: 1.0})


def _close_failed(pack: dict[str, Any], cell: PackCell, err: Exception) -> None:
    """A cell of a failed pack: FAILED with the error, unless it finished or a later invocation owns its run."""
    fail_cell(pack["tracking_uri"], cell.run_id, cell.cell_id, pack["invocation"], f"{type(err).__name__}: {err}")


def run_sweep(cells: Sequence[Cell], *, sweep: str, tracking_uri: str, storage: str,
              max_concurrent: int, artifacts: Mapping[str, str] | None = None,
              scheduler: PerGroup | None = None) -> list[CellOutcome]:
    """Run every pack of cells as a Tune trial; a failing pack is recorded (its unfinished cells FAILED) and does
    not stop the others.

    Re-running a sweep resumes it: a cell whose newest run (same config hash) FINISHED is skipped; an unfinished
    one (driver killed, or failed) continues its MLflow run, and its pack's Train run, named after the sweep and
    the pack, restores the cell from its latest checkpoint in ``storage`` (the run's tag ``checkpoints``). A
    changed config is a new run; nothing logged is overwritten.
    ``scheduler`` (litlab.cluster.schedulers.build_scheduler) may stop cells early: their runs are marked KILLED
    and tagged ``stopped_by``, and a rerun skips them like finished ones."""
    experiment_id = ensure_experiment(tracking_uri, sweep)
    parent = client(tracking_uri).create_run(experiment_id, tags={"sweep": sweep, "mlflow.runName": sweep,
                                                                  "kind": "sweep"})
    for stale in close_stale_parents(tracking_uri, experiment_id, parent.info.run_id):
        console.say(f"earlier invocation {stale} of sweep {sweep!r} was still RUNNING (its driver was killed): "
                    "marked KILLED", warn=True)
    log_sweep_plan(tracking_uri, parent.info.run_id, [
        {"cell": c.id, "studies": list(c.studies), "overrides": dict(c.overrides), "config_hash": c.hash,
         "replicate_group": c.group, "seed": c.seed} for c in cells])
    for path, text in (artifacts or {}).items():  # e.g. the coverage report (litlab.data.coverage.sweep_coverage)
        client(tracking_uri).log_text(parent.info.run_id, text, path)
    earlier = _newest_runs(tracking_uri, sweep, cells)
    done = [_done(c, earlier[c.id]) for c in cells if c.id in earlier and _closed(earlier[c.id])]
    todo = [c for c in cells if c.id not in {d.cell_id for d in done}]
    for d in done:
        console.cell_skipped(d.cell_id, d.run_id, d.status.lower())
    runs = {c.id: _cell_run(c, sweep, tracking_uri, experiment_id, parent.info.run_id, earlier.get(c.id))
            for c in todo}
    packs = _packs(cells, todo, {**{c: r["run_id"] for c, r in earlier.items()}, **runs}, sweep=sweep,
                   uri=tracking_uri, storage=storage, invocation=parent.info.run_id,
                   keys=pack_keys(cells, max_concurrent, scheduler is not None))
    results = done + (_tune(packs, sweep, storage, parent.info.run_id, max_concurrent, scheduler)
                      if packs else [])
    by = scheduler.name if scheduler else "scheduler"
    results = [mark_stopped(tracking_uri, r, by) if r.status == "STOPPED" and r not in done else r for r in results]
    failed = sum(r.status == "FAILED" for r in results)
    client(tracking_uri).set_terminated(parent.info.run_id, "FAILED" if failed else "FINISHED")
    return results


def _newest_runs(uri: str, sweep: str, cells: Sequence[Cell]) -> dict[str, dict[str, Any]]:
    """cell id -> its newest earlier run in this sweep with the same config hash."""
    hashes = {c.id: c.hash for c in cells}
    out: dict[str, dict[str, Any]] = {}
    for run in fetch_cell_runs(uri, sweep):  # newest first
        cell = run["tags"].get("cell")
        if cell in hashes and cell not in out and run["tags"].get("config_hash") == hashes[cell]:
            out[cell] = run
    return out


def _closed(run: dict[str, Any]) -> bool:
    """Finished, or stopped by a scheduler: a rerun leaves it as it is."""
    return run["status"] == "FINISHED" or (run["status"] == "KILLED" and "stopped_by" in run["tags"])


def _named(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """A cell's own metrics (``train/...``, ``zeroshot/...``: names with a "/"), without Tune's bookkeeping."""
    return {k: v for k, v in (metrics or {}).items() if "/" in k}


def _done(cell: Cell, run: dict[str, Any]) -> CellOutcome:
    status = "FINISHED" if run["status"] == "FINISHED" else "STOPPED"
    return CellOutcome(cell.id, run["run_id"], status, _named(run["metrics"]))


def mark_stopped(uri: str, outcome: CellOutcome, by: str) -> CellOutcome:
    """A cell its scheduler stopped: its run KILLED, tagged ``stopped_by`` and ``stopped_at_step`` (its values so
    far stay under its attempt's names, litlab.cluster.history: no final model, so no canonical history). A run that
    closed FINISHED before the stop reached its trial is left as it is (nothing is overwritten)."""
    c = client(uri)
    if c.get_run(outcome.run_id).info.status == "FINISHED":
        return replace(outcome, status="FINISHED")
    step = int(outcome.metrics.get("step", -1))
    c.set_tag(outcome.run_id, "stopped_by", by)
    c.set_tag(outcome.run_id, "stopped_at_step", str(step))
    c.set_terminated(outcome.run_id, "KILLED")
    print(f"cell {outcome.cell_id}: stopped by {by} at step {step}", flush=True)
    return outcome


def _keep_credentials_out_of_trials() -> None:
    """Tune copies AWS keys from the driver's env into every trial's runtime env, which Ray's runtime-env agent
    then writes to its log and the GCS keeps. Trials get them as every Ray process does (the node's env, an
    instance role), so they are dropped from the copied set."""
    class_cache.ENV_VARS_TO_PROPAGATE = set(class_cache.ENV_VARS_TO_PROPAGATE) - SECRET_ENV_VARS


class StopsToConsole(tune.Callback):
    """Tells the sweep's console when its scheduler stops a trial: Tune ends the trial function without a word, and
    the cell would show as running until the sweep ends."""

    def __init__(self, packs: dict[str, dict[str, Any]], by: str) -> None:
        self.packs, self.by = packs, by

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        if FINISHED_KEY in result or "step" not in result:  # finished, or stopped before any evaluation
            return
        for cell in self.packs[trial.config["cell"]]["cells"]:
            console.cell_stopped(cell["cell_id"], cell["run_id"], self.by, int(result["step"]))


def _tune(packs: dict[str, dict[str, Any]], sweep: str, storage: str, parent_id: str,
          max_concurrent: int, scheduler: PerGroup | None) -> list[CellOutcome]:
    _keep_credentials_out_of_trials()
    progress = new_progress()  # one per sweep: evaluations from rank 0 to the trial functions
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(run_trial, packs=packs, progress=progress), TRIAL_RESOURCES),
        param_space={"cell": tune.grid_search(list(packs))},  # a pack's key: its group, or its cell id
        # A finished trial's actor (its process, with torch and litlab imported) runs the next trial. Not with a
        # scheduler: a stopped trial's actor must end, taking its Train run with it (litlab.cluster.progress).
        tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent, scheduler=scheduler,
                                    reuse_actors=scheduler is None),
        run_config=tune.RunConfig(name=slug(f"{sweep}-{parent_id[:8]}"), storage_path=storage, verbose=1,
                                  callbacks=[StopsToConsole(packs, scheduler.name)] if scheduler else None),
    )
    read = _run_reader(next(iter(packs.values()))["tracking_uri"])
    return [o for r in tuner.fit() for o in _pack_outcomes(r, packs, read)]


def _cell_run(cell: Cell, sweep: str, uri: str, experiment_id: str, parent_id: str,
              earlier: dict[str, Any] | None) -> str:
    """The id of the cell's run: an unfinished one continued and claimed, or a new one."""
    if earlier is not None:  # unfinished: continue it (its pack's Train run restores it from its last checkpoint)
        run_id = earlier["run_id"]
        n = claim_invocation(uri, run_id, parent_id, earlier["status"])
        console.say(f"cell {cell.id}: resuming unfinished run {run_id} ({earlier['status']}) as its invocation {n}")
        return run_id
    run_id = create_cell_run(uri, experiment_id, cell.config, cell_tags(cell.config, cell.id, cell.studies, sweep),
                             parent_run_id=parent_id)
    claim_invocation(uri, run_id, parent_id, "new")
    return run_id


def _packs(cells: Sequence[Cell], todo: Sequence[Cell], run_of: dict[str, str], *, sweep: str, uri: str,
           storage: str, invocation: str, keys: dict[str, str]) -> dict[str, dict[str, Any]]:
    """{pack key: the pack's Train run name and its cells to train}. The name carries the run id of the pack's first
    cell in the plan (finished or not: the same in every invocation), so sweeps of one name in two MLflow stores never
    share a Train run; each cell's run gets its checkpoint folder as the tag ``checkpoints``."""
    anchor: dict[str, str] = {}
    for c in cells:
        anchor.setdefault(keys[c.id], run_of[c.id])
    packs: dict[str, dict[str, Any]] = {}
    for c in todo:
        key = keys[c.id]
        pack = packs.setdefault(key, {"name": pack_name(sweep, key, anchor[key]), "cells": [], "storage": storage,
                                      "tracking_uri": uri, "invocation": invocation})
        RunLogger(uri, run_of[c.id]).set_tag(CHECKPOINTS_TAG, checkpoint_folder(storage, pack["name"], run_of[c.id]))
        pack["cells"].append({"cell_id": c.id, "run": to_dict(c.config), "run_id": run_of[c.id]})
    return packs


Reader = Callable[[str], tuple[str, dict[str, float]]]  # run id -> (status, its metrics)


def _run_reader(uri: str) -> Reader:
    def read(run_id: str) -> tuple[str, dict[str, float]]:
        run = client(uri).get_run(run_id)
        return run.info.status, dict(run.data.metrics)
    return read


def _pack_outcomes(result: Any, packs: dict[str, dict[str, Any]], read: Reader) -> list[CellOutcome]:
    """Each cell of a trial's pack: as MLflow has it (the trial closed each run), or STOPPED (a scheduler stopped
    the trial: its last report was an intermediate one; a pack of one cell)."""
    cells = packs[result.config["cell"]]["cells"]
    if result.error is None and FINISHED_KEY not in (result.metrics or {}):
        return [CellOutcome(c["cell_id"], c["run_id"], "STOPPED", {**_named(result.metrics), **_step(result.metrics)})
                for c in cells]
    error = ("" if result.error is None else
             "".join(traceback.format_exception_only(type(result.error), result.error)).strip())
    out = []
    for c in cells:
        status, metrics = read(c["run_id"])
        ok = status == "FINISHED"
        out.append(CellOutcome(c["cell_id"], c["run_id"], "FINISHED" if ok else "FAILED", _named(metrics),
                               "" if ok else error or f"run {c['run_id']} ended {status}"))
    return out


def _step(metrics: dict[str, Any] | None) -> dict[str, float]:
    return {"step": float(metrics["step"])} if metrics and "step" in metrics else {}
