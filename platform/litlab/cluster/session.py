"""Connecting to Ray: a local cluster (embedded) or an existing one, with the env every worker needs."""

from __future__ import annotations

import os

import ray

from litlab.sizing import Node

# glibc's malloc, read when a process starts: by default every allocation above 128 KiB-32 MiB is its own mmap,
# returned to the kernel when freed, so each training step faults in (and the kernel zeroes) its activations and
# gradients afresh. Served from the heap and kept, a demo worker's step ran 9-12 % faster with a third of the system
# CPU and an eighth of the page faults (experiments/benchmarks/allocator.py). A worker's memory then stays at its peak.
GLIBC_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 32)}
# Env vars forwarded to every Ray worker (driver env does not reach workers of a `ray start` cluster).
FORWARDED = ("LITLAB_DATA_ROOT", "HF_HUB_OFFLINE", "MLFLOW_DISABLE_TELEMETRY", "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S",
             "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
             *GLIBC_MALLOC)
# RAY_TRAIN_ENABLE_PRINT_PATCH=0: Train V2 sends a worker's print() both to the worker's stdout and through a
# logger to its stderr, so each line reached the driver twice.
DEFAULTS = {"HF_HUB_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "OMP_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false", "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5",
            "RAY_TRAIN_ENABLE_PRINT_PATCH": "0", **GLIBC_MALLOC}
# On a local cluster started here no node can be preempted: Ray Train's preemption watcher (an actor per Train run
# polling the GCS) only costs a process per trial
LOCAL_DEFAULTS = {"RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0"}


def worker_env() -> dict[str, str]:
    env = dict(DEFAULTS)
    env.update({k: os.environ[k] for k in FORWARDED if k in os.environ})
    return env


def connect(address: str | None = None, num_cpus: int | None = None) -> dict[str, float]:
    """ray.init against ``address`` (or $RAY_ADDRESS, or a new local cluster); returns the cluster's resources."""
    for k, v in DEFAULTS.items():
        os.environ.setdefault(k, v)
    if not ray.is_initialized():
        local = not (address or os.environ.get("RAY_ADDRESS"))
        for k, v in (LOCAL_DEFAULTS if local else {}).items():
            os.environ.setdefault(k, v)  # forwarded to the trials, whose Train controllers read it
        kwargs = {"num_cpus": num_cpus} if local else {}
        # The dashboard stays on: Ray Train's placement-group cleaner polls the state API it serves.
        ray.init(address=address, runtime_env={"env_vars": worker_env()}, log_to_driver=True, **kwargs)
    return ray.cluster_resources()


def cluster_nodes() -> list[Node]:
    """The alive nodes' CPUs and GPUs, for ``litlab.sizing.auto_train``."""
    return [Node(n["Resources"].get("CPU", 0.0), n["Resources"].get("GPU", 0.0)) for n in ray.nodes() if n["Alive"]]


def shutdown() -> None:
    if ray.is_initialized():
        ray.shutdown()
