"""Packs: the cells one Train run trains in turn, so that a sweep pays Ray Train's start-up (a controller, worker
processes importing torch, timm, transformers, MLflow and litlab: ~6.5 CPU-s each) once per pack, not per cell.

Under ``--scheduler fifo`` a pack is every cell that can share a worker group: cells whose configs differ only in
what each cell builds for itself on the workers (``PER_CELL``: its setting, seed and optimizer; not its workers,
split, batch, tokenizer, image size or evaluation sets), in plan order, cut in parts where the sweep has more
trial slots than that leaves packs (``pack_keys``); under a scheduler that stops trials (ASHA) every cell is its own
pack, since a stop ends the trial's Train run. A pack's Train run is named after the sweep, the pack and its first
cell's run, not after which of its cells are left, so a rerun finds the checkpoints of its unfinished cells: each
cell keeps its own in ``<Train run>/<cell run id>/`` (``litlab.cluster.checkpoints``), trains from its own dataset
(``train_<i>``: its own seeded file order) and is closed by rank 0 before the next one starts (``finish_cell``).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import ray.train
from ray.train import ScalingConfig
from ray.train.torch import TorchTrainer

from litlab import storage
from litlab.cluster import console
from litlab.cluster.data import ingest_options, run_layout, train_dataset
from litlab.cluster.dedup import ensure_dedup_split
from litlab.cluster.not_faults import StopOnNotAFault, fit
from litlab.cluster.precompute import ensure_image_cache
from litlab.cluster.session import cluster_nodes
from litlab.cluster.skips import new_counters
from litlab.cluster.tracking import RunLogger
from litlab.cluster.train import train_loop_per_worker
from litlab.config import RunConfig, override, to_dict, to_params
from litlab.grid import Cell
from litlab.sizing import auto_train, describe


@dataclass(frozen=True)
class PackCell:
    """One cell of a pack: its config, its MLflow run, its id (the console's label)."""

    cfg: RunConfig
    run_id: str
    cell_id: str


# What the cells of one pack may differ in: what each cell builds for itself on the workers (its model, from its
# setting; its optimizer and schedule; its seed). Everything else is the pack's: one worker group (train.*), one file
# listing and batch (data.*), one evaluation suite (eval.*, the tokenizer, the image size), one model shape.
PER_CELL = ("setup", "optim", "train.seed")


def pack_keys(cells: Sequence[Cell], max_concurrent: int, scheduled: bool) -> dict[str, str]:
    """{cell id: its pack's key}. The cells that may share a pack (equal ``shared_part``), in plan order, are cut
    into packs of at most ``len(cells) // max_concurrent`` cells, so that the packs still fill every trial slot; the
    cut depends on the plan alone, so a rerun of the same command puts each cell in the same pack (and Train run)
    again. A pack that is one whole replicate group is named after it; any other after its first cell and how many
    follow it. With ``scheduled`` every cell is its own pack."""
    if scheduled:
        return {c.id: c.id for c in cells}
    size = max(1, len(cells) // max(1, max_concurrent))
    sharing: dict[str, list[Cell]] = {}
    for c in cells:
        sharing.setdefault(repr(shared_part(c.config)), []).append(c)
    group_size = Counter(c.group for c in cells)
    keys = {}
    for members in sharing.values():
        for start in range(0, len(members), size):
            part = members[start:start + size]
            whole = len({c.group for c in part}) == 1 and len(part) == group_size[part[0].group]
            key = part[0].group if whole else f"{part[0].id} +{len(part) - 1}"
            keys.update({c.id: key for c in part})
    return keys


def shared_part(cfg: RunConfig) -> dict[str, Any]:
    """The config's flat params (``optim.lr`` form) without ``PER_CELL``: what every cell of a pack has alike."""
    return {k: v for k, v in to_params(cfg).items() if k not in PER_CELL and k.split(".")[0] not in PER_CELL}


def pack_name(sweep: str, key: str, anchor: str) -> str:
    """A pack's Train run name (its storage folder): the same for every invocation of the sweep; ``anchor``: the
    run id of the pack's first cell in the plan, which keeps sweeps of one name in other MLflow stores apart."""
    return slug(f"{sweep}-{key}-{anchor[:8]}")


def checkpoint_folder(storage_root: str, pack: str, run_id: str) -> str:
    """Where a cell's checkpoints live: its run's folder in its pack's Train run (the cell run's tag
    ``checkpoints``, which experiments/chaos.py's audit reads)."""
    return storage.join(storage_root, pack, run_id)


def slug(name: str) -> str:
    """A filesystem- and URI-safe version of a name, for Train run names."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def check_pack(cfgs: Sequence[RunConfig]) -> None:
    """A pack's cells must differ in nothing but ``PER_CELL`` (they share workers, split, evaluations, Train run)."""
    first = shared_part(cfgs[0])
    for cfg in cfgs[1:]:
        changed = sorted(k for k, v in shared_part(cfg).items() if first.get(k) != v)
        if changed:
            raise ValueError(f"the cells of a pack may differ only in {', '.join(PER_CELL)}, not in "
                             f"{', '.join(changed)}")


def fit_pack(cells: Sequence[PackCell], *, name: str, storage_root: str, tracking_uri: str,
             invocation: str | None = None, progress: Any = None, began: float | None = None) -> ray.train.Result:
    """Train the pack's cells in turn with one TorchTrainer, each closed (FINISHED, final model logged) as it ends;
    raises a ConfigError/DataError at once (no restart, litlab.cluster.not_faults), ray.train.TrainingFailedError
    when faults outlast train.max_failures. ``invocation``: the sweep run that owns the cells' runs
    (``litlab.cluster.attempts``). ``progress``: a ``litlab.cluster.progress.Progress`` actor that rank 0 sends
    intermediate evaluations to, under ``name``. ``began``: the trial's start (epoch s; the first cell's start)."""
    cfgs = [deduplicated(sized(c.cfg, tracking_uri, c.run_id), tracking_uri, c.run_id) for c in cells]
    check_pack(cfgs)
    cfg = cfgs[0]
    cache = ensure_image_cache(cfg) if cfg.train.precompute else None
    layout = None if cache else run_layout(cfg)  # listed once, here
    counters = new_counters([c.run_id for c in cells])
    common = {"tracking_uri": tracking_uri, "invocation": invocation, "progress": progress, "progress_key": name,
              "image_cache": cache, "train_files": list(layout.files) if layout else None,
              "trial_began": time.time() if began is None else began}
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"common": common, "cells": [
            {"run": to_dict(c), "run_id": cell.run_id, "cell_id": cell.cell_id, "sub": cell.run_id,  # its folder
             "dataset": f"train_{i}", "skip_counter": n} for i, (cell, c, n) in enumerate(zip(cells, cfgs, counters,
                                                                                             strict=True))]},
        scaling_config=ScalingConfig(num_workers=cfg.train.workers, use_gpu=cfg.train.gpus_per_worker > 0,
                                     resources_per_worker=_worker_resources(cfg)),
        # num_to_keep spans the pack's cells: a cell's last two are kept while it trains, and a finished cell
        # needs none (its final model is in MLflow); a later cell's reports then remove an earlier one's
        run_config=ray.train.RunConfig(name=name, storage_path=storage_root,
                                       failure_config=ray.train.FailureConfig(max_failures=pooled(cfg, len(cells))),
                                       checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2),
                                       callbacks=[StopOnNotAFault()]),
        datasets={f"train_{i}": train_dataset(c, cache, counters[i], layout) for i, c in enumerate(cfgs)},
        dataset_config=ray.train.DataConfig(execution_options=ingest_options(cfg)),
    )
    return fit(trainer)


def fit_cell(cfg: RunConfig, *, name: str, storage: str, tracking_uri: str, run_id: str,
             invocation: str | None = None, progress: Any = None) -> ray.train.Result:
    """One cell as a pack of one (Train run ``slug(name)``), its run closed at the end (``finish_cell``)."""
    return fit_pack([PackCell(cfg, run_id, name)], name=slug(name), storage_root=storage, tracking_uri=tracking_uri,
                    invocation=invocation, progress=progress)


def sized(cfg: RunConfig, tracking_uri: str, run_id: str) -> RunConfig:
    """With ``train.workers=0`` (a run started outside a sweep, which sizes its cells itself), the workers are
    sized from the cluster now, and the run is tagged with what they came to."""
    if cfg.train.workers:
        return cfg
    cfg = replace(cfg, train=auto_train(cfg.train, cluster_nodes()))
    RunLogger(tracking_uri, run_id).set_tag("train.sized", describe(cfg.train))
    return cfg


def deduplicated(cfg: RunConfig, tracking_uri: str, run_id: str) -> RunConfig:
    """With ``data.dedup`` set, the config trains on the filtered copy of its split (built once, shared by every
    run that asks for the same filter); the counts go to MLflow as ``dedup/*`` (paper Table 5)."""
    if cfg.data.dedup == "none":
        return cfg
    split, counts = ensure_dedup_split(cfg, progress=console.say)
    logger = RunLogger(tracking_uri, run_id)
    logger.continue_run()  # a resumed run does not log its counts twice
    logger.log(0, {f"dedup/{k}": float(v) for k, v in counts.items()})
    logger.set_tag("data.dedup_split", split)
    return override(cfg, "data.train", split)


def pooled(cfg: RunConfig, cells: int) -> int:
    """The pack's restart budget for Ray Train: each cell's train.max_failures restarts plus the fault that ends it
    (-1, unlimited, stays so). Rank 0 holds each cell to its own budget: one that used it up is closed FAILED and
    the pack goes on with the next (litlab.cluster.train), so one faulty cell cannot spend the others' restarts."""
    n = cfg.train.max_failures
    return n if n < 0 else (n + 1) * cells


def _worker_resources(cfg: RunConfig) -> dict[str, float]:
    res = {"CPU": cfg.train.cpus_per_worker}
    if cfg.train.gpus_per_worker > 0:
        res["GPU"] = cfg.train.gpus_per_worker
    return res
