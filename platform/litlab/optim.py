"""Optimizers by name, parameter groups, and the warm-up + cosine learning-rate schedule (pure torch).

Parameter groups. Each group carries ``base_lr`` = optim.lr x its multiplier; the schedule sets
``lr = base_lr x warmup_cosine(step)`` on every group, including groups added later by a delayed unlock.
- Per-tower multipliers: the image tower's backbone uses ``optim.image_lr_mult``, the text tower's
  ``optim.text_lr_mult``; the heads, ``logit_scale`` and ``logit_bias`` use ``optim.lr`` itself.
- Weight decay (decoupled: ``p -= lr_t * weight_decay * p``, torch's AdamW form, so it follows the schedule and
  the multipliers) applies to matrices and kernels only (``ndim >= 2``, embedding tables included). Biases,
  norm scales and shifts (1-D), ``logit_scale`` and the sigmoid objective's ``logit_bias`` (0-D) never decay.
  big_vision, the paper's code, adds ``wd x p`` after scaling the update by lr, then scales both by the schedule:
  ``p -= schedule_t x wd x p``, no lr. The paper's ``wd=1e-4`` at ``lr=1e-3`` is therefore ``weight_decay=0.1``
  here (``wd / lr``; the same per-step decay at multiplier 1), which the ``paper`` preset sets.
- Locked (no-grad) parameters are in no group and get no optimizer state; ``add_tower`` adds them on unlock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from litlab.config import Optim
from litlab.registry import Registry

ParamGroup = dict  # {"params": [...], "base_lr": float, "weight_decay": float, "name": str}
OptimizerFactory = Callable[[list[ParamGroup], Optim], torch.optim.Optimizer]
OPTIMIZERS: Registry[OptimizerFactory] = Registry("optimizer")


@OPTIMIZERS.register("adamw")
def adamw(groups: list[ParamGroup], cfg: Optim) -> torch.optim.Optimizer:
    """Adam with decoupled weight decay (Loshchilov & Hutter), betas (0.9, 0.999); torch's fused kernel where every
    parameter is a float tensor on CPU or CUDA (the same update, one pass over each tensor: on one CPU thread 40 ms a
    step for MiniLM's 22M parameters where the per-tensor loop that torch picks on CPU takes 190 ms)."""
    return torch.optim.AdamW(groups, lr=cfg.lr, fused=fusable([p for g in groups for p in g["params"]]))


def fusable(params: list[torch.Tensor]) -> bool:
    """Whether torch's fused AdamW takes these parameters: float tensors, on CPU or CUDA."""
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)


@OPTIMIZERS.register("adafactor")
def adafactor(groups: list[ParamGroup], cfg: Optim) -> torch.optim.Optimizer:
    """torch's Adafactor: factored second moment (row and column means for matrices), no momentum.

    ``eps2 = 1`` turns off Adafactor's relative step (update x RMS(param)) for every parameter with RMS <= 1, so
    ``optim.lr`` is an absolute step size as in Adam and in big_vision's Adafactor, and a learning-rate sweep means
    the same thing for both optimizers. (torch's default, eps2 = 1e-3, makes a 0.02-RMS weight move 50x slower.)
    """
    return torch.optim.Adafactor(groups, lr=cfg.lr, eps=(None, 1.0))


def build_optimizer(model: nn.Module, cfg: Optim) -> torch.optim.Optimizer:
    """``cfg.name``'s optimizer over the trainable parameters of a TwoTower (or a DDP-wrapped one)."""
    net = getattr(model, "module", model)  # DistributedDataParallel keeps the model in .module
    towers = {"image": cfg.image_lr_mult, "text": cfg.text_lr_mult}
    groups: list[ParamGroup] = []
    in_towers: set[int] = set()
    for tower, mult in towers.items():
        params = list(getattr(net, tower).parameters())
        in_towers |= {id(p) for p in params}
        groups += param_groups(tower, params, cfg.lr * mult, cfg.weight_decay)
    rest = [p for p in net.parameters() if id(p) not in in_towers]  # heads, logit_scale, logit_bias
    groups += param_groups("heads", rest, cfg.lr, cfg.weight_decay)
    if not groups:
        raise ValueError("the model has no trainable parameters (are both towers locked and there are no heads?)")
    return OPTIMIZERS.get(cfg.name)(groups, cfg)


def param_groups(name: str, params: Iterable[nn.Parameter], base_lr: float, weight_decay: float) -> list[ParamGroup]:
    """A decayed group (ndim >= 2) and an undecayed one (biases, norms, scalars); trainable params only, no empties."""
    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "base_lr": base_lr, "lr": base_lr, "weight_decay": weight_decay, "name": name},
              {"params": no_decay, "base_lr": base_lr, "lr": base_lr, "weight_decay": 0.0, "name": f"{name}/no_decay"}]
    return [g for g in groups if g["params"]]


def add_tower(optimizer: torch.optim.Optimizer, schedule: WarmupCosine, name: str, params: list[nn.Parameter],
              lr_mult: float, cfg: Optim) -> None:
    """Delayed unlock: the tower's parameters join as new groups at the current schedule factor, with no state."""
    for group in param_groups(name, params, cfg.lr * lr_mult, cfg.weight_decay):
        optimizer.add_param_group(group)
    schedule.apply()


def warmup_cosine(step: int, cfg: Optim) -> float:
    """Multiplier of optim.lr: linear warm-up over warmup_steps, then cosine decay to 0 at optim.steps."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """Sets every group's ``lr = base_lr x warmup_cosine(step)``; unlike LambdaLR it follows groups added later.

    ``step`` counts completed optimizer steps; ``state_dict`` / ``load_state_dict`` resume it.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: Optim, step: int = 0) -> None:
        self.optimizer, self.cfg, self.last_step = optimizer, cfg, step
        self.apply()

    def step(self) -> None:
        self.last_step += 1
        self.apply()

    def apply(self) -> None:
        factor = warmup_cosine(self.last_step, self.cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor

    def lr(self) -> float:
        """optim.lr x the current factor: what the heads use (towers scale it by their multipliers)."""
        return self.cfg.lr * warmup_cosine(self.last_step, self.cfg)

    def state_dict(self) -> dict[str, int]:
        return {"step": self.last_step}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.last_step = int(state["step"])
        self.apply()


def build_schedule(optimizer: torch.optim.Optimizer, cfg: Optim, step: int = 0) -> WarmupCosine:
    """The schedule, advanced to ``step`` (completed steps) for a resumed run."""
    return WarmupCosine(optimizer, cfg, step)
