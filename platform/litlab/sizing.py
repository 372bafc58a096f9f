"""How many trials of a sweep fit on a cluster at once, from its CPUs and GPUs (plain Python, no Ray)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from litlab.config import ConfigError
from litlab.grid import Cell

DATA_CPUS = 1.0  # kept free per trial for Ray Data (its file listing task asks for a whole CPU); less deadlocks reads


def trial_needs(cell: Cell) -> tuple[float, float]:
    """(CPUs, GPUs) one trial of ``cell`` holds: its Train workers plus DATA_CPUS for its data pipeline."""
    train = cell.config.train
    return train.workers * train.cpus_per_worker + DATA_CPUS, train.workers * train.gpus_per_worker


def fitting_trials(cells: Sequence[Cell], cluster_cpus: float, cluster_gpus: float = 0.0) -> int:
    """Trials that run at once: as many of the largest trial as the cluster's CPUs and GPUs both fit (at least 1,
    at most one per cell). A grid that needs GPUs on a cluster that has none is an error naming the cell (on an
    autoscaling cluster whose GPU nodes start on demand, pass --max-concurrent instead)."""
    if not cells:
        return 1
    needs = {c.id: trial_needs(c) for c in cells}
    cpus = max(n[0] for n in needs.values())
    gpu_cell, (_, gpus) = max(needs.items(), key=lambda item: item[1][1])
    if gpus > 0 and cluster_gpus <= 0:
        raise ConfigError(f"cell {gpu_cell} asks for {gpus:g} GPU(s) (train.workers x train.gpus_per_worker) but "
                          f"the cluster has none; set train.gpus_per_worker=0, or pass --max-concurrent on a cluster "
                          f"that adds GPU nodes on demand")
    fit = math.floor(cluster_cpus / cpus)
    if gpus > 0:
        fit = min(fit, math.floor(cluster_gpus / gpus))
    return max(1, min(len(cells), fit))
