"""The training loop: any iterable of batches, a log callback, no Ray inside.

A batch is a dict of tensors: ``image`` (B, H, W, 3) uint8, ``ids`` and ``mask`` (B, T) int64: this worker's
rows for one optimizer step. The model is a TwoTower, or one wrapped in DistributedDataParallel.

- Gradient accumulation (``optim.accum_steps`` = K): each batch is split into K micro-batches of B/K rows whose
  gradients add up (each loss / K), so activations take the memory of B/K rows. The contrastive loss of a
  micro-batch sees only that micro-batch's negatives (W*B/K of them with the global loss over W workers): it is
  not the objective of one batch of B, the way K times more workers with worker negatives is not. Only a loss that
  decomposes over examples gets exactly the big-batch gradient.
- Loss: ``optim.objective`` (``softmax``: litlab.losses, ``sigmoid``: litlab.losses_sigmoid, which needs the model's
  logit bias) over ``optim.negatives`` (``global``: every worker's pairs, exactly the single-process loss on the
  whole batch; ``worker``: each worker's own). ``train/loss`` is the mean over workers of their losses: one
  all_reduce of a scalar on log steps only (every rank takes part), none on other steps.
- Delayed unlock (``optim.unlock_image_at`` / ``unlock_text_at`` = s > 0): a tower locked by setup letter L
  trains from step s (0-based) on: its weights are bit-identical after steps 0..s-1. Its parameters then join the
  optimizer as new groups (no state before); under DDP, whose reducer only knows the parameters that were
  trainable when it wrapped the model, the loop averages their gradients over workers itself.
- Token tables: a vocabulary table that ``litlab.row_sync.exclude_token_tables`` took out of DDP is averaged by the
  loop over the rows some worker's batch touched, to the same values DDP would give.
- bf16 (``optim.bf16``): the towers run under bfloat16 autocast on CUDA; the loss is computed in float32.
  Ignored, with one warning per run, on other devices.
- Repeatability: before each step the torch RNG is seeded from (seed, rank, step), as big_vision folds the step
  into its key. Dropout masks do not depend on what ran before, so two runs with one seed are bit-identical on
  CPU and a resumed run equals an uninterrupted one (given the same batches).
- Resuming: ``start_step`` = completed steps; pass the model as ``build_model`` makes it (towers of letter L still
  locked) with its weights loaded, the batches from step ``start_step`` on, and ``state`` = the dict that
  ``checkpoint`` received. Unlocks before ``start_step`` are replayed, so the optimizer's groups line up.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from litlab.config import Optim
from litlab.losses import Gather, contrastive_loss
from litlab.losses_sigmoid import sigmoid_loss
from litlab.models.locking import TOWERS, unlock
from litlab.models.two_tower import TwoTower
from litlab.optim import WarmupCosine, add_tower, build_optimizer, build_schedule
from litlab.row_sync import average_rows, left_to_us

Batch = dict[str, torch.Tensor]
Log = Callable[[int, dict[str, float]], None]
Checkpoint = Callable[[int, dict[str, Any]], None]
LossFn = Callable[[Batch], tuple[torch.Tensor, torch.Tensor]]  # micro-batch -> (loss, logit_scale)


def train(model: nn.Module, batches: Iterable[Batch], cfg: Optim, *, log: Log, log_every: int = 10,
          gather: Gather | None = None, rank: int = 0, world_size: int = 1, device: torch.device | str = "cpu",
          evaluate: Callable[[int], None] | None = None, eval_every: int = 0, start_step: int = 0,
          state: dict[str, Any] | None = None, checkpoint: Checkpoint | None = None, checkpoint_every: int = 0,
          seed: int = 0) -> dict[str, float]:
    """Run steps ``start_step .. cfg.steps - 1``; returns the last logged metrics.

    ``evaluate(step)`` runs every ``eval_every`` steps before the last (every rank calls it: it may be collective).
    ``checkpoint(step, {"optimizer": ..., "schedule": ...})`` runs every ``checkpoint_every`` completed steps
    before the last, with live state dicts: save (or copy) them before returning.
    """
    net: TwoTower = getattr(model, "module", model)  # DistributedDataParallel keeps the TwoTower in .module
    unlocks = unlock_plan(net, cfg)
    optimizer, schedule, unlocked = _resume(net, cfg, unlocks, start_step, state)
    loss_fn = _contrastive(model, cfg, gather, rank, world_size, device)
    by_rows = left_to_us(model)  # token tables DDP was told to leave alone (litlab.row_sync)
    model.train()
    last: dict[str, float] = {}
    tic, pairs, done = time.perf_counter(), 0, start_step
    for step, batch in zip(range(start_step, cfg.steps), _to(batches, device), strict=False):  # data may be endless
        unlocked += _unlock(net, unlocks.get(step, []), optimizer, schedule, cfg)
        torch.manual_seed(step_seed(seed, rank, step))
        optimizer.zero_grad(set_to_none=True)
        loss, logit_scale = accumulate(model, batch, cfg.accum_steps, loss_fn)
        _average_unlocked_gradients(model, unlocked, world_size)
        average_rows(by_rows, world_size)
        grad_norm = torch.nn.utils.clip_grad_norm_(_params(optimizer), cfg.clip_norm)
        optimizer.step()
        schedule.step()
        pairs, done = pairs + batch["ids"].shape[0] * world_size, step + 1
        if done % log_every == 0 or done == cfg.steps:
            last = {"train/loss": _mean_over_workers(loss, world_size), "train/temperature": logit_scale.item(),
                    "train/lr": schedule.lr(), "train/grad_norm": grad_norm.item(),
                    "train/pairs_per_s": pairs / (time.perf_counter() - tic)}
            if net.logit_bias is not None:  # the sigmoid objective's b
                last["train/bias"] = net.logit_bias.item()
            log(done, last)
            tic, pairs = time.perf_counter(), 0
        paused = time.perf_counter()  # evaluation and checkpoints are not training throughput
        if evaluate and eval_every and done % eval_every == 0 and done < cfg.steps:
            evaluate(done)
        if checkpoint and checkpoint_every and done % checkpoint_every == 0 and done < cfg.steps:
            checkpoint(done, {"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict()})
        tic += time.perf_counter() - paused
    if done < cfg.steps:
        raise RuntimeError(f"the data ran out after {done} of {cfg.steps} steps; pass an endless iterable "
                           "(e.g. litlab.cluster.shard_batches.ShardBatches) or lower optim.steps")
    return last


def accumulate(model: nn.Module, batch: Batch, accum_steps: int, loss_fn: LossFn) -> tuple[torch.Tensor, torch.Tensor]:
    """Backpropagate mean(loss_fn(micro-batch)) over ``accum_steps`` micro-batches, one at a time.

    Returns the mean loss and the last micro-batch's logit scale (both detached). Under DDP only the last
    backward synchronises gradients.
    """
    rows = next(iter(batch.values())).shape[0]
    if rows % accum_steps:
        raise ValueError(f"a batch of {rows} rows cannot be split into optim.accum_steps={accum_steps} micro-batches")
    size = rows // accum_steps
    losses = []
    for i in range(accum_steps):
        micro = {k: v[i * size:(i + 1) * size] for k, v in batch.items()}  # (B/K, ...)
        is_last = i == accum_steps - 1
        sync = nullcontext() if is_last or not isinstance(model, DistributedDataParallel) else model.no_sync()
        with sync:
            loss, logit_scale = loss_fn(micro)
            (loss / accum_steps).backward()
        losses.append(loss.detach())
    return torch.stack(losses).mean(), logit_scale.detach()


def unlock_plan(net: TwoTower, cfg: Optim) -> dict[int, list[str]]:
    """{step: towers that unlock before it}, from optim.unlock_image_at / unlock_text_at (0 or -1 = never)."""
    plan: dict[int, list[str]] = {}
    for tower in TOWERS:
        at = getattr(cfg, f"unlock_{tower}_at")
        if at <= 0:
            continue
        if tower not in net.locked:
            raise ValueError(f"optim.unlock_{tower}_at={at} needs a locked {tower} tower (setup letter L); "
                             f"the model's locked towers: {sorted(net.locked) or 'none'}")
        plan.setdefault(at, []).append(tower)
    return plan


def step_seed(seed: int, rank: int, step: int) -> int:
    """A torch seed for one step of one worker, mixed from the three numbers (numpy's SeedSequence)."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0] >> 1)


def _resume(net: TwoTower, cfg: Optim, unlocks: dict[int, list[str]], start_step: int,
            state: dict[str, Any] | None) -> tuple[torch.optim.Optimizer, WarmupCosine, list[nn.Parameter]]:
    """Optimizer and schedule at ``start_step``: unlocks already passed are replayed, then ``state`` loaded."""
    optimizer = build_optimizer(net, cfg)
    schedule = build_schedule(optimizer, cfg)
    unlocked = [p for at in sorted(unlocks) if at < start_step
                for p in _unlock(net, unlocks[at], optimizer, schedule, cfg)]
    schedule.load_state_dict({"step": start_step})
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
    return optimizer, schedule, unlocked


def _unlock(net: TwoTower, towers: list[str], optimizer: torch.optim.Optimizer, schedule: WarmupCosine,
            cfg: Optim) -> list[nn.Parameter]:
    params: list[nn.Parameter] = []
    for tower in towers:
        tower_params = unlock(net, tower)
        add_tower(optimizer, schedule, tower, tower_params, getattr(cfg, f"{tower}_lr_mult"), cfg)
        params += tower_params
    return params


def _average_unlocked_gradients(model: nn.Module, params: list[nn.Parameter], world_size: int) -> None:
    """DDP averages only the parameters trainable when it wrapped the model; towers unlocked later are done here."""
    if not params or world_size == 1 or not isinstance(model, DistributedDataParallel):
        return
    grads = [p.grad for p in params if p.grad is not None]
    flat = torch.cat([g.flatten() for g in grads])  # one collective for the whole tower
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def _contrastive(model: nn.Module, cfg: Optim, gather: Gather | None, rank: int, world_size: int,
                 device: torch.device | str) -> LossFn:
    precision = _precision(cfg.bf16, device)

    def loss_fn(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        with precision():
            zimg, ztxt, logit_scale, logit_bias = model(batch["image"], batch["ids"], batch["mask"])  # (b, D) x2, ()
        zimg, ztxt, logit_scale = zimg.float(), ztxt.float(), logit_scale.float()  # the loss in float32
        if cfg.objective == "sigmoid":
            bias = None if logit_bias is None else logit_bias.float()
            loss = sigmoid_loss(zimg, ztxt, logit_scale, bias, negatives=cfg.negatives, world_size=world_size)
        else:
            loss = contrastive_loss(zimg, ztxt, logit_scale, gather=gather, rank=rank, negatives=cfg.negatives)
        return loss, logit_scale

    return loss_fn


def _mean_over_workers(loss: torch.Tensor, world_size: int) -> float:
    """The mean of every worker's loss (each its rows' share): collective, every rank calls it on the same steps."""
    if world_size == 1:
        return loss.item()
    total = loss.detach().clone()
    dist.all_reduce(total)
    return total.item() / world_size


def _precision(bf16: bool, device: torch.device | str) -> Callable[[], AbstractContextManager]:
    """bfloat16 autocast on CUDA; elsewhere float32 (with one warning when bf16 was asked for)."""
    if bf16 and torch.device(device).type == "cuda":
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    if bf16:
        warnings.warn(f"optim.bf16 is ignored on {torch.device(device).type}: training in float32", stacklevel=3)
    return nullcontext


def _params(optimizer: torch.optim.Optimizer) -> list[nn.Parameter]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def _to(batches: Iterable[Batch], device: torch.device | str) -> Iterator[Batch]:
    for batch in batches:
        yield {k: v.to(device, non_blocking=True) for k, v in batch.items()}
