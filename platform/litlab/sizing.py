"""Sizing from the cluster's resources (plain Python, no Ray): a run's Train workers when ``train.workers=0``, and
how many trials of a sweep fit at once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from litlab.config import ConfigError, Train
from litlab.grid import Cell

DATA_CPUS = 1.0  # kept free per trial for Ray Data (its file listing task asks for a whole CPU); less deadlocks reads
CPU_WORKERS = 2  # workers of a run on a cluster without GPUs: data-parallel, so the global/local loss split is real
MIN_CPUS_PER_WORKER = 0.5  # shares are whole or half CPUs; never less, however small the node


@dataclass(frozen=True)
class Node:
    """One alive node's schedulable resources (from ``ray.nodes()``)."""

    cpus: float
    gpus: float = 0.0


def auto_train(train: Train, nodes: Sequence[Node]) -> Train:
    """``train`` with workers, CPUs/GPUs per worker and torch threads sized from the cluster when
    ``train.workers == 0`` (else unchanged). A run's workers stay within the largest node, so its all-gathers
    never cross the network: one worker per GPU of the largest GPU node; on a cluster without GPUs, CPU_WORKERS
    workers. The node's CPUs, less DATA_CPUS for Ray Data, are shared evenly among them (rounded down to half
    CPUs, at least MIN_CPUS_PER_WORKER, except that GPU workers take the exact share, even 0, when the node has
    too few CPUs for that), and each worker's torch uses its whole CPUs as threads (at least 1)."""
    if train.workers:
        return train
    if not nodes:
        raise ConfigError("train.workers=0 sizes a run from the cluster's nodes, but the cluster lists none")
    gpu_nodes = [n for n in nodes if n.gpus >= 1]
    node = max(gpu_nodes or nodes, key=lambda n: (n.gpus, n.cpus))
    workers = int(node.gpus) if gpu_nodes else CPU_WORKERS
    share = max(0.0, node.cpus - DATA_CPUS) / workers
    cpus = max(MIN_CPUS_PER_WORKER, math.floor(2 * share) / 2)
    if gpu_nodes and cpus > share:  # a GPU node short of CPUs: exact shares
        cpus = share
    return replace(train, workers=workers, cpus_per_worker=cpus, gpus_per_worker=1.0 if gpu_nodes else 0.0,
                   torch_threads=max(1, int(cpus)))


def sized_cells(cells: Sequence[Cell], nodes: Sequence[Node]) -> list[Cell]:
    """The cells with ``auto_train`` applied: their config (and so its hash, the sweep's resume key) records the
    workers they really ran with; re-running on the same cluster finds the same hashes."""
    return [replace(c, config=replace(c.config, train=auto_train(c.config.train, nodes))) for c in cells]


def sized_sweep(cells: Sequence[Cell], nodes: Sequence[Node], max_concurrent: int = 0) -> tuple[list[Cell], int]:
    """The cells sized for ``nodes`` (``sized_cells``) and the trials that run at once: ``max_concurrent``, else as
    many as the nodes' CPUs and GPUs together fit (``fitting_trials``, which raises when a trial cannot fit)."""
    cells = sized_cells(cells, nodes)
    if max_concurrent:
        return cells, max_concurrent
    return cells, fitting_trials(cells, sum(n.cpus for n in nodes), sum(n.gpus for n in nodes))


def describe(train: Train) -> str:
    """One line for the driver's log, e.g. '2 workers x 0.5 CPU, 0 GPU, 1 torch thread(s) each'."""
    return (f"{train.workers} workers x {train.cpus_per_worker:g} CPU, {train.gpus_per_worker:g} GPU, "
            f"{train.torch_threads} torch thread(s) each")


def trial_needs(cell: Cell) -> tuple[float, float]:
    """(CPUs, GPUs) one trial of ``cell`` holds: its Train workers plus DATA_CPUS for its data pipeline."""
    train = cell.config.train
    if not train.workers:
        raise ValueError(f"cell {cell.id} has train.workers=0: size it from the cluster first (sized_cells)")
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
    if cpus > cluster_cpus:
        big = max(needs, key=lambda cell: needs[cell][0])
        raise ConfigError(f"cell {big} asks for {cpus:g} CPUs (train.workers x train.cpus_per_worker, plus "
                          f"{DATA_CPUS:g} for Ray Data) but the cluster has {cluster_cpus:g}; lower "
                          f"train.workers or train.cpus_per_worker, or pass --max-concurrent on a cluster that adds "
                          f"nodes on demand")
    fit = math.floor(cluster_cpus / cpus)
    if gpus > 0:
        fit = min(fit, math.floor(cluster_gpus / gpus))
    return max(1, min(len(cells), fit))
