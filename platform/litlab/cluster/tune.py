"""Ray Tune: a sweep of cells; each trial is a small driver that fits one TorchTrainer (Train V2 pattern).

MLflow layout: one experiment per sweep, a parent run per invocation, a child run per cell created here (so
run ids are known before any trial starts), finished or failed by the trial that trains it.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ray import tune

from litlab.cluster.tracking import RunLogger, cell_tags, client, create_cell_run, ensure_experiment
from litlab.cluster.train import fit_cell, slug
from litlab.config import from_dict, to_dict
from litlab.grid import Cell

# A trial only drives a TorchTrainer (its workers ask for their own CPUs), so it holds memory, not CPU: any
# fraction of a CPU here would leave less than the whole CPU that Ray Data's file-listing task needs.
TRIAL_RESOURCES = {"cpu": 0, "memory": 256 * 2**20}
DATA_CPUS = 1.0  # kept free for Ray Data (its file listing task asks for a whole CPU); less deadlocks the reads


@dataclass(frozen=True)
class CellResult:
    cell_id: str
    run_id: str
    status: str  # FINISHED | FAILED
    metrics: dict[str, float]
    error: str = ""


def run_trial(config: dict[str, Any], payloads: dict[str, dict[str, Any]]) -> None:
    """One Tune trial: fit the cell, report its final metrics, close its MLflow run."""
    payload = payloads[config["cell"]]
    logger = RunLogger(payload["tracking_uri"], payload["run_id"])
    name = f"{payload['sweep']}-{payload['cell_id']}-{payload['run_id'][:8]}"
    try:
        result = fit_cell(from_dict(payload["run"]), name=name, storage=payload["storage"],
                          tracking_uri=payload["tracking_uri"], run_id=payload["run_id"])
    except Exception as err:
        logger.set_tag("error", f"{type(err).__name__}: {err}"[:4000])
        logger.finish("FAILED")
        raise
    logger.finish("FINISHED")
    tune.report({k: v for k, v in result.metrics.items() if isinstance(v, (int, float))})


def fitting_trials(cells: Sequence[Cell], cluster_cpus: float) -> int:
    """How many trials run at once so that their Train workers leave DATA_CPUS per trial for Ray Data."""
    per_trial = max(c.config.train.workers * c.config.train.cpus_per_worker for c in cells) + DATA_CPUS
    return max(1, min(len(cells), int(cluster_cpus // per_trial)))


def run_sweep(cells: Sequence[Cell], *, sweep: str, tracking_uri: str, storage: str,
              max_concurrent: int) -> list[CellResult]:
    """Run every cell as a Tune trial; a failing cell is recorded and does not stop the others."""
    experiment_id = ensure_experiment(tracking_uri, sweep)
    parent = client(tracking_uri).create_run(experiment_id, tags={"sweep": sweep, "mlflow.runName": sweep,
                                                                  "kind": "sweep"})
    payloads = {c.id: _payload(c, sweep, tracking_uri, storage, experiment_id, parent.info.run_id) for c in cells}
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(run_trial, payloads=payloads), TRIAL_RESOURCES),
        param_space={"cell": tune.grid_search(list(payloads))},
        tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent),
        run_config=tune.RunConfig(name=slug(f"{sweep}-{parent.info.run_id[:8]}"), storage_path=storage,
                                  verbose=1),
    )
    grid = tuner.fit()
    results = [_cell_result(r, payloads) for r in grid]
    failed = sum(r.status != "FINISHED" for r in results)
    client(tracking_uri).set_terminated(parent.info.run_id, "FAILED" if failed else "FINISHED")
    return results


def _payload(cell: Cell, sweep: str, uri: str, storage: str, experiment_id: str, parent_id: str) -> dict:
    run_id = create_cell_run(uri, experiment_id, cell.config, cell_tags(cell.config, cell.id, cell.studies, sweep),
                             parent_run_id=parent_id)
    return {"cell_id": cell.id, "run": to_dict(cell.config), "run_id": run_id, "sweep": sweep,
            "tracking_uri": uri, "storage": storage}


def _cell_result(result: Any, payloads: dict[str, dict[str, Any]]) -> CellResult:
    payload = payloads[result.config["cell"]]
    metrics = {k: v for k, v in (result.metrics or {}).items() if "/" in k}
    if result.error is not None:
        text = "".join(traceback.format_exception_only(type(result.error), result.error)).strip()
        return CellResult(payload["cell_id"], payload["run_id"], "FAILED", metrics, text)
    return CellResult(payload["cell_id"], payload["run_id"], "FINISHED", metrics)
