"""Optimizer and learning-rate schedule (pure torch)."""

from __future__ import annotations

import math

import torch
from torch import nn

from litlab.config import Optim


def build_optimizer(model: nn.Module, cfg: Optim) -> torch.optim.Optimizer:
    """AdamW with decoupled weight decay on matrices only; locked (no-grad) parameters get no state."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def warmup_cosine(step: int, cfg: Optim) -> float:
    """Multiplier of optim.lr: linear warm-up over warmup_steps, then cosine decay to 0 at optim.steps."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build_schedule(optimizer: torch.optim.Optimizer, cfg: Optim) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, cfg))
