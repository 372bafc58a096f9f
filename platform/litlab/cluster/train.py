"""Ray Train, the workers' side: a pack's cells (``litlab.cluster.packs``) in turn, each a run of
``litlab.loop.train`` on every worker, logged to MLflow and closed by rank 0."""

from __future__ import annotations

import time
from typing import Any

import ray.train
import ray.train.torch
import torch

from litlab import loop, progress
from litlab.cluster import console
from litlab.cluster.attempts import begin_attempt, owns, starts_in
from litlab.cluster.checkpoint_store import sweep
from litlab.cluster.checkpoints import Restored, cell_folder, registered_in, report_checkpoint, restore
from litlab.cluster.data import FinishedShards, split_path
from litlab.cluster.finish import TRIAL_KEYS, fail_cell, finish_cell
from litlab.cluster.history import AttemptLogger, History
from litlab.cluster.not_faults import surfaced
from litlab.cluster.progress import numeric
from litlab.cluster.shard_batches import ShardBatches
from litlab.cluster.skips import build_skip_metrics, skip_metrics
from litlab.cluster.tracking import is_finished
from litlab.config import RunConfig, from_dict
from litlab.distributed import all_gather_with_grad
from litlab.evaluators.suite import suite_for
from litlab.models.build import build_model
from litlab.row_sync import exclude_token_tables
from litlab.timeline import Timeline


def train_loop_per_worker(payload: dict[str, Any]) -> None:
    """Runs on every worker; a ConfigError/DataError is raised as itself, so the run fails without restarts."""
    with surfaced():
        _train_pack(payload)


def _train_pack(payload: dict[str, Any]) -> None:
    """The pack's cells in turn, each closed by rank 0 (``finish.finish_cell``) before the next begins; a cell whose
    run is FINISHED (done before Ray Train restarted the workers after a fault) is skipped."""
    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    if rank == 0:
        progress.set_sink(console.say)  # long steps (large evaluation sets) on the sweep's console
    cells = [{**payload["common"], **cell} for cell in payload["cells"]]
    began = payload["common"]["trial_began"]  # the first cell's start-up is the trial's
    # one suite for the pack: its cells differ only in what each builds itself (packs.PER_CELL), and a suite keeps
    # nothing of the models it scores (its evaluation sets, decoded on first use, are what later cells reuse)
    suite = suite_for(from_dict(cells[0]["run"]), ray.train.torch.get_device())
    finished = FinishedShards()  # each cell's dataset ended as the pack goes on (rank 0)
    for i, ahead in _with_next(cells, _unfinished(cells, rank, ctx.get_world_size())):
        if rank == 0 and i:
            console.cell_started(cells[i]["cell_id"], cells[i]["run_id"])
        folder, metrics = _train_worker(cells[i], suite, finished, ahead)
        if folder is not None:
            _finish(cells[i], folder, metrics, began)
        began = time.time()


def _unfinished(cells: list[dict[str, Any]], rank: int, world: int) -> list[int]:
    """The indices of the cells to train, as rank 0 reads them from MLflow, the same on every rank."""
    todo = [i for i, c in enumerate(cells) if _to_train(c)] if rank == 0 else []
    if world > 1:
        box = [todo]
        torch.distributed.broadcast_object_list(box, src=0)
        todo = box[0]
    return todo


def _with_next(cells: list[dict[str, Any]], todo: list[int]) -> list[tuple[int, str | None]]:
    """(index, the dataset of the cell trained after it, or None for the last) for each cell of ``todo``."""
    return [(i, cells[todo[k + 1]]["dataset"] if k + 1 < len(todo) else None) for k, i in enumerate(todo)]


def _to_train(cell: dict[str, Any]) -> bool:
    """Rank 0: not FINISHED, and within its own fault budget. The pack's Train run may restart its workers
    train.max_failures times per cell (packs.fit_pack), so a cell that failed more than that in this invocation is
    closed FAILED here, and the pack goes on with the next."""
    uri, run_id = cell["tracking_uri"], cell["run_id"]
    if is_finished(uri, run_id):
        return False
    budget, restarts = from_dict(cell["run"]).train.max_failures, starts_in(uri, run_id, cell["invocation"])
    if budget < 0 or restarts <= budget:  # this start is its restart number `restarts` (0: its first)
        return True
    fail_cell(uri, run_id, cell["cell_id"], cell["invocation"], f"TrainingFailedError: its workers failed "
              f"{restarts} times in this invocation, more than train.max_failures={budget}")
    return False


def _finish(cell: dict[str, Any], folder: str, metrics: dict[str, Any], began: float) -> None:
    """Rank 0: close the cell's run from its final checkpoint, with the cell's wall time and start (TRIAL_KEYS)."""
    fs, _ = cell_folder(cell["sub"])
    if finish_cell(fs, folder, registered_in(cell["sub"]), uri=cell["tracking_uri"], run_id=cell["run_id"],
                   invocation=cell["invocation"],
                   extra=dict(zip(TRIAL_KEYS, (time.time() - began, began), strict=True))):
        console.cell_ended(cell["cell_id"], cell["run_id"], "FINISHED", numeric(metrics))


def _train_worker(payload: dict[str, Any], suite: Any, finished: FinishedShards,
                  ahead: str | None = None) -> tuple[str | None, dict[str, Any]]:
    """One cell, scored by ``suite``; returns its final checkpoint folder (rank 0 of the invocation that owns the
    run, else None) and its final metrics. The first line turns the raw dict into a RunConfig. ``ahead``: the
    dataset of the pack's next cell, whose split coordinator rank 0 has Ray start while this cell trains."""
    cfg, began = from_dict(payload["run"]), time.time()
    torch.set_num_threads(cfg.train.torch_threads)
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    cache = payload.get("image_cache")
    model, ddp, restored, built = _model(cfg, cache, payload["sub"], world)
    start, state = restored.step, restored.state
    device = ray.train.torch.get_device()
    logger = _logger(payload, rank, restored)
    split = split_path(cfg.data.root, cfg.data.train)
    timeline = _timeline(logger, split, start, {"time/worker_start": began, "time/model_built": built})
    evaluate = _evaluation(payload, cfg, WithImageTower(cfg, model) if cache else (lambda: model), suite, logger,
                           timeline)
    extra = {"image_from_cache": bool(cache)}

    shard = _shard(payload["dataset"], ahead if rank == 0 else None)
    batches = ShardBatches(cfg.data.batch_size, world, split, (state or {}).get("data"),
                           files=payload.get("train_files"), seed=cfg.train.seed, rank=rank, shard=shard)

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
    folder = _checkpoint(payload, model, cfg, logger, cfg.optim.steps, metrics, extra)
    if rank == 0:
        finished.release(shard)  # the pack's later cells train from datasets of their own
    return folder, metrics


def _model(cfg: RunConfig, cache: dict[str, Any] | None, sub: str,
           world: int) -> tuple[torch.nn.Module, Any, Restored, float]:
    """The cell's model (on the image cache's features when ``cache``), restored from its latest checkpoint in
    ``sub`` (step 0 unless Ray Train restarted us or the sweep was rerun) and wrapped for DDP; returns (model,
    wrapped, what restore found, the time the model was built)."""
    model = build_model(cfg, image_features=cache["dim"] if cache else None)
    built = time.time()
    restored = restore(model, sub)
    if world > 1:
        exclude_token_tables(model)  # averaged by the rows looked up, not by DDP (litlab.row_sync)
    return model, ray.train.torch.prepare_model(model), restored, built


def _shard(dataset: str, ahead: str | None) -> Any:
    """This worker's shard of ``dataset``; with ``ahead`` (rank 0, a pack's next cell's dataset) that one is asked
    for too: rank 0 makes a dataset's split coordinator (an actor, a process of its own: ~1.5 s to start on 2
    cores) and the other ranks' get_dataset_shard waits for it, so made now, it is up when the next cell asks."""
    shard = ray.train.get_dataset_shard(dataset)
    if ahead is not None:
        ray.train.get_dataset_shard(ahead)
    return shard


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
                progress.put.remote(payload["progress_key"], step, scores)
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
                step: int, metrics: dict[str, Any], state: dict[str, Any]) -> str | None:
    """Collective; rank 0 writes the checkpoint (with the history so far) only while this attempt's invocation owns
    the run: actors of a killed driver's invocation keep training for a few seconds after a rerun claimed it.
    Returns the folder written (rank 0), else None."""
    current = logger is None or owns(payload["tracking_uri"], payload["run_id"], payload.get("invocation"))
    if not current:
        console.say(f"[{payload['cell_id']}] a later invocation owns the run: no checkpoint at step {step}",
                    warn=True)
    return report_checkpoint(model, cfg, payload["run_id"], step, metrics, state, sub=payload["sub"],
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
    keep = [*restored.registered, *([restored.folder] if restored.folder else [])]
    removed = sweep(*cell_folder(payload["sub"]), keep)
    text = (f"[{payload['cell_id']}] attempt {attempt.number} ({attempt.cause}) from step {restored.step}"
            + (f"; removed {len(removed)} leftover(s) of earlier attempts" if removed else ""))
    if attempt.number > 1 or restored.step:  # a retried fault or a resumed run: the user's to know
        console.say(text, warn=attempt.number > 1)
    else:
        print(text, flush=True)  # a first attempt: the log's record
    logger = AttemptLogger(uri, run_id, attempt.number, History(restored.history))
    logger.begin(restored.step)
    return logger


def _printing(logger: AttemptLogger, payload: dict[str, Any], steps: int) -> loop.Log:
    """Log to MLflow (with the running counts of dropped rows) and show one progress line (rank 0 only)."""
    def log(step: int, metrics: dict[str, float]) -> None:
        logger.log(step, {**metrics, **skip_metrics(payload.get("skip_counter"))})
        console.step(payload["run_id"], payload["cell_id"], step, steps, metrics["train/loss"],
                     metrics["train/pairs_per_s"])
    return log


def _no_log(step: int, metrics: dict[str, float]) -> None:
    return None
