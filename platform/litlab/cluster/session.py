"""Connecting to Ray: a local cluster (embedded) or an existing one, with the env every worker needs."""

from __future__ import annotations

import os
from collections.abc import Sequence

import ray

from litlab.grid import Cell
from litlab.sizing import Node, fitting_trials, sized_cells

# Env vars forwarded to every Ray worker (driver env does not reach workers of a `ray start` cluster).
FORWARDED = ("LITLAB_DATA_ROOT", "HF_HUB_OFFLINE", "MLFLOW_DISABLE_TELEMETRY", "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S",
             "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")
DEFAULTS = {"HF_HUB_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "OMP_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false", "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5"}


def worker_env() -> dict[str, str]:
    env = dict(DEFAULTS)
    env.update({k: os.environ[k] for k in FORWARDED if k in os.environ})
    return env


def connect(address: str | None = None, num_cpus: int | None = None) -> dict[str, float]:
    """ray.init against ``address`` (or $RAY_ADDRESS, or a new local cluster); returns the cluster's resources."""
    for k, v in DEFAULTS.items():
        os.environ.setdefault(k, v)
    if not ray.is_initialized():
        kwargs = {} if (address or os.environ.get("RAY_ADDRESS")) else {"num_cpus": num_cpus}
        # The dashboard stays on: Ray Train's placement-group cleaner polls the state API it serves.
        ray.init(address=address, runtime_env={"env_vars": worker_env()}, log_to_driver=True, **kwargs)
    return ray.cluster_resources()


def cluster_nodes() -> list[Node]:
    """The alive nodes' CPUs and GPUs, for ``litlab.sizing.auto_train``."""
    return [Node(n["Resources"].get("CPU", 0.0), n["Resources"].get("GPU", 0.0)) for n in ray.nodes() if n["Alive"]]


def sized_for_cluster(cells: Sequence[Cell], max_concurrent: int = 0) -> tuple[list[Cell], int]:
    """The cells with ``train.workers=0`` sized from the connected cluster's nodes, and the trials that run at once
    (``max_concurrent``, else as many as its CPUs and GPUs fit). Raises ConfigError when a trial cannot fit."""
    resources = ray.cluster_resources()
    cells = sized_cells(cells, cluster_nodes())
    return cells, max_concurrent or fitting_trials(cells, resources.get("CPU", 1.0), resources.get("GPU", 0.0))


def shutdown() -> None:
    if ray.is_initialized():
        ray.shutdown()
