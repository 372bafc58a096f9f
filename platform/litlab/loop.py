"""The training loop: any iterable of batches, a log callback, no Ray inside.

A batch is a dict of tensors: ``image`` (B, H, W, 3) uint8, ``ids`` and ``mask`` (B, T) int64.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

from litlab.config import Optim
from litlab.losses import Gather, contrastive_loss
from litlab.optim import build_optimizer, build_schedule

Log = Callable[[int, dict[str, float]], None]


def train(model: nn.Module, batches: Iterable[dict[str, torch.Tensor]], cfg: Optim, *, log: Log,
          log_every: int = 10, gather: Gather | None = None, rank: int = 0, world_size: int = 1,
          device: torch.device | str = "cpu", evaluate: Callable[[int], None] | None = None,
          eval_every: int = 0) -> dict[str, float]:
    """Run ``cfg.steps`` contrastive steps; returns the last logged metrics.

    ``evaluate(step)`` runs every ``eval_every`` steps before the last (every rank calls it: it may be collective).
    """
    optimizer = build_optimizer(model, cfg)
    schedule = build_schedule(optimizer, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    model.train()
    last: dict[str, float] = {}
    tic, pairs, done = time.perf_counter(), 0, 0
    for step, batch in zip(range(cfg.steps), _to(batches, device), strict=False):  # the data may be endless
        zimg, ztxt, logit_scale = model(batch["image"], batch["ids"], batch["mask"])  # (B, D), (B, D), ()
        loss = contrastive_loss(zimg, ztxt, logit_scale, gather=gather, rank=rank)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm)
        optimizer.step()
        schedule.step()
        pairs, done = pairs + zimg.shape[0] * world_size, step + 1
        if (step + 1) % log_every == 0 or step + 1 == cfg.steps:
            elapsed = time.perf_counter() - tic
            last = {"train/loss": loss.item(), "train/temperature": logit_scale.item(),
                    "train/lr": schedule.get_last_lr()[0], "train/grad_norm": grad_norm.item(),
                    "train/pairs_per_s": pairs / elapsed}
            log(step + 1, last)
            tic, pairs = time.perf_counter(), 0
        if evaluate and eval_every and (step + 1) % eval_every == 0 and step + 1 < cfg.steps:
            paused = time.perf_counter()
            evaluate(step + 1)
            tic += time.perf_counter() - paused  # evaluation time is not training throughput
    if done < cfg.steps:
        raise RuntimeError(f"the data ran out after {done} of {cfg.steps} steps; pass an endless iterable "
                           "(see litlab.cluster.train) or lower optim.steps")
    return last


def _to(batches: Iterable[dict[str, torch.Tensor]], device: torch.device | str) -> Iterator[dict[str, torch.Tensor]]:
    for batch in batches:
        yield {k: v.to(device, non_blocking=True) for k, v in batch.items()}
