"""Ray Train: one cell = one TorchTrainer run of ``litlab.loop.train`` on N workers, logged to MLflow by rank 0."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Any

import ray.train
import ray.train.torch
import torch
from ray.train import ScalingConfig
from ray.train.torch import TorchTrainer

from litlab import loop, progress
from litlab.cluster import console
from litlab.cluster.attempts import begin_attempt, owns
from litlab.cluster.checkpoint_store import sweep
from litlab.cluster.checkpoints import Restored, report_checkpoint, restore
from litlab.cluster.data import ingest_options, run_layout, split_path, train_dataset
from litlab.cluster.dedup import ensure_dedup_split
from litlab.cluster.history import AttemptLogger, History
from litlab.cluster.not_faults import StopOnNotAFault, fit, surfaced
from litlab.cluster.precompute import ensure_image_cache
from litlab.cluster.session import cluster_nodes
from litlab.cluster.shard_batches import ShardBatches
from litlab.cluster.skips import build_skip_metrics, new_counter, skip_metrics
from litlab.cluster.tracking import RunLogger
from litlab.config import RunConfig, from_dict, override, to_dict
from litlab.distributed import all_gather_with_grad
from litlab.evaluators.suite import suite_for
from litlab.models.build import build_model
from litlab.sizing import auto_train, describe
from litlab.timeline import Timeline


def train_loop_per_worker(payload: dict[str, Any]) -> None:
    """Runs on every worker; a ConfigError/DataError is raised as itself, so the run fails without restarts."""
    with surfaced():
        _train_worker(payload)


def _train_worker(payload: dict[str, Any]) -> None:
    """The first line turns the raw dict into a RunConfig."""
    cfg, began = from_dict(payload["run"]), time.time()
    torch.set_num_threads(cfg.train.torch_threads)
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    if rank == 0:
        progress.set_sink(console.say)  # long steps (large evaluation sets) on the sweep's console
    cache = payload.get("image_cache")
    model = build_model(cfg, image_features=cache["dim"] if cache else None)
    built = time.time()
    restored = restore(model)  # step 0 unless Ray Train restarted us after a failure or the sweep was rerun
    start, state = restored.step, restored.state
    ddp = ray.train.torch.prepare_model(model)
    device = ray.train.torch.get_device()
    logger = _logger(payload, rank, restored)
    split = split_path(cfg.data.root, cfg.data.train)
    timeline = _timeline(logger, split, start, {"time/worker_start": began, "time/model_built": built})
    evaluate = _evaluation(payload, cfg, WithImageTower(cfg, model) if cache else (lambda: model),
                           suite_for(cfg, device), logger, timeline)
    extra = {"image_from_cache": bool(cache)}

    batches = ShardBatches(cfg.data.batch_size, world, split, (state or {}).get("data"),
                           files=payload.get("train_files"), seed=cfg.train.seed, rank=rank)

    def checkpoint(step: int, opt_state: dict[str, Any]) -> None:
        with timeline.pause(step):
            _checkpoint(payload, model, cfg, logger, step, {"step": step}, {**opt_state, **extra, **batches.state()})

    last = loop.train(
        ddp, timeline.batches(batches), cfg.optim,
        log=_printing(logger, payload, cfg.optim.steps) if logger else _no_log,
        log_every=cfg.train.log_every, gather=all_gather_with_grad if world > 1 else None, rank=rank,
        world_size=world, device=device, evaluate=evaluate, eval_every=cfg.eval.every,
        start_step=start, state=state, checkpoint=checkpoint, checkpoint_every=cfg.train.checkpoint_every,
        seed=cfg.train.seed,
    )
    timeline.close(cfg.optim.steps)
    metrics = {**last, **evaluate(cfg.optim.steps), "step": cfg.optim.steps}
    _checkpoint(payload, model, cfg, logger, cfg.optim.steps, metrics, extra)


def _timeline(logger: AttemptLogger | None, split: str, start: int, stamps: dict[str, float]) -> Timeline:
    """Rank 0's time/* recorder (litlab.timeline); a fresh start also logs the split's skipped-row counts and its
    start-up stamps at step 0. A resumed attempt's stamps would enter the run's one history at a step that another
    attempt may also reach (litlab.cluster.history; chaos seed 20261212 found it at start + 1), so it logs none."""
    timeline = Timeline(logger.log if logger else _no_log)
    if not start:
        if logger:
            logger.log(0, build_skip_metrics(split))
        timeline.emit(0, stamps)
    return timeline


def _evaluation(payload: dict[str, Any], cfg: RunConfig, eval_model: Any, suite: Any, logger: AttemptLogger | None,
                timeline: Timeline) -> Any:
    """``evaluate(step)``: every rank embeds its shard; rank 0 logs the scores, and sends those of intermediate
    evaluations to the sweep's Progress actor (to Tune, ``litlab.cluster.progress``)."""
    progress = payload.get("progress")

    def evaluate(step: int) -> dict[str, float]:
        with timeline.pause(step, evaluation=True):
            scores = suite(eval_model())
        if logger:
            logger.log(step, {**scores, **suite.facts()})  # chance levels and item counts beside the scores
            if progress is not None and step < cfg.optim.steps:
                progress.put.remote(payload["cell_id"], step, scores)
        return scores

    return evaluate


class WithImageTower:
    """For evaluating a run trained from cached features: the full model (the real locked tower, built on first
    use) carrying the trained text side, heads, temperature and (sigmoid objective) logit bias."""

    def __init__(self, cfg: RunConfig, trained: torch.nn.Module) -> None:
        self.cfg, self.trained, self.full = cfg, trained, None

    def __call__(self) -> torch.nn.Module:
        if self.full is None:
            self.full = build_model(self.cfg)
        self.full.load_state_dict(self.trained.state_dict(), strict=False)  # the cached model has no image.*
        return self.full


def _checkpoint(payload: dict[str, Any], model: torch.nn.Module, cfg: RunConfig, logger: AttemptLogger | None,
                step: int, metrics: dict[str, Any], state: dict[str, Any]) -> None:
    """Collective; rank 0 writes the checkpoint (with the history so far) only while this attempt's invocation owns
    the run: actors of a killed driver's invocation keep training for a few seconds after a rerun claimed it."""
    current = logger is None or owns(payload["tracking_uri"], payload["run_id"], payload.get("invocation"))
    if not current:
        console.say(f"[{payload['cell_id']}] a later invocation owns the run: no checkpoint at step {step}",
                    warn=True)
    report_checkpoint(model, cfg, payload["run_id"], step, metrics, state,
                      history=logger.history.to_dict() if logger else None,
                      attempt=logger.attempt if logger else None, write=current)


def _logger(payload: dict[str, Any], rank: int, restored: Restored) -> AttemptLogger | None:
    """Rank 0's logger for this attempt, recorded in the run (``litlab.cluster.attempts``), continuing the history
    of the checkpoint it restored; the Train run's unregistered and partial checkpoints are removed first."""
    if rank != 0:
        return None
    uri, run_id = payload["tracking_uri"], payload["run_id"]
    attempt = begin_attempt(uri, run_id, invocation=payload.get("invocation"), start_step=restored.step,
                            from_checkpoint=restored.folder, from_attempt=restored.attempt,
                            data_position=(restored.state or {}).get("data"))
    store = ray.train.get_context().get_storage()
    keep = [*restored.registered, *([restored.folder] if restored.folder else [])]
    removed = sweep(store.storage_filesystem, store.experiment_fs_path, keep)
    text = (f"[{payload['cell_id']}] attempt {attempt.number} ({attempt.cause}) from step {restored.step}"
            + (f"; removed {len(removed)} leftover(s) of earlier attempts" if removed else ""))
    if attempt.number > 1 or restored.step:  # a retried fault or a resumed run: the user's to know
        console.say(text, warn=attempt.number > 1)
    else:
        print(text, flush=True)  # a first attempt: the log's record
    logger = AttemptLogger(uri, run_id, attempt.number, History(restored.history))
    logger.begin(restored.step)
    return logger


def fit_cell(cfg: RunConfig, *, name: str, storage: str, tracking_uri: str, run_id: str,
             invocation: str | None = None, progress: Any = None) -> ray.train.Result:
    """Train one cell with a TorchTrainer; raises a ConfigError/DataError at once (no restart, litlab.cluster.
    not_faults), ray.train.TrainingFailedError when faults outlast train.max_failures. ``invocation``: the sweep
    run that owns the cell's run (``litlab.cluster.attempts``); close the run with ``finish.finish_cell``.
    ``progress``: a ``litlab.cluster.progress.Progress`` actor that rank 0 sends intermediate evaluations to."""
    cfg = sized(cfg, tracking_uri, run_id)
    cfg = deduplicated(cfg, tracking_uri, run_id)
    cache = ensure_image_cache(cfg) if cfg.train.precompute else None
    counter = new_counter()
    layout = None if cache else run_layout(cfg)  # listed once, here
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"run": to_dict(cfg), "tracking_uri": tracking_uri, "run_id": run_id, "cell_id": name,
                           "image_cache": cache, "skip_counter": counter,
                           "train_files": list(layout.files) if layout else None, "invocation": invocation,
                           "progress": progress},
        scaling_config=ScalingConfig(num_workers=cfg.train.workers, use_gpu=cfg.train.gpus_per_worker > 0,
                                     resources_per_worker=_worker_resources(cfg)),
        run_config=ray.train.RunConfig(name=slug(name), storage_path=storage,
                                       failure_config=ray.train.FailureConfig(max_failures=cfg.train.max_failures),
                                       checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2),
                                       callbacks=[StopOnNotAFault()]),
        datasets={"train": train_dataset(cfg, cache, counter, layout)},
        dataset_config=ray.train.DataConfig(execution_options=ingest_options(cfg)),
    )
    return fit(trainer)


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


def slug(name: str) -> str:
    """A filesystem- and URI-safe version of a cell id, for Train run names."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def _worker_resources(cfg: RunConfig) -> dict[str, float]:
    res = {"CPU": cfg.train.cpus_per_worker}
    if cfg.train.gpus_per_worker > 0:
        res["GPU"] = cfg.train.gpus_per_worker
    return res


def _printing(logger: AttemptLogger, payload: dict[str, Any], steps: int) -> loop.Log:
    """Log to MLflow (with the running counts of dropped rows) and show one progress line (rank 0 only)."""
    def log(step: int, metrics: dict[str, float]) -> None:
        logger.log(step, {**metrics, **skip_metrics(payload.get("skip_counter"))})
        console.step(payload["run_id"], payload["cell_id"], step, steps, metrics["train/loss"],
                     metrics["train/pairs_per_s"])
    return log


def _no_log(step: int, metrics: dict[str, float]) -> None:
    return None
