"""A step's speed for the benchmarks that time ``litlab.loop.train`` without Ray. Not a script.

``pairs_per_second(model, batches, steps, pairs, **train_kwargs)`` trains ``steps`` + 2 steps (one warm-up step of
the schedule), stamping the clock at each logged step, and returns ``pairs`` per step over the ``steps`` after the
first two, per second: the first steps pay for allocation and lazy initialisation, which a long run does not.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import torch
from litlab.config import Optim
from litlab.loop import train

WARM_UP = 2  # steps run before the clock counts


def pairs_per_second(model: torch.nn.Module, batches: Iterable[dict[str, torch.Tensor]], steps: int, pairs: int,
                     **train_kwargs: Any) -> float:
    """``pairs`` (a step's pairs) x ``steps`` over the seconds from the end of the last warm-up step to the end of the
    last step. ``batches`` must yield ``steps`` + WARM_UP batches; ``train_kwargs`` go to ``litlab.loop.train``."""
    stamps: list[float] = []
    train(model, batches, Optim(steps=steps + WARM_UP, warmup_steps=1),
          log=lambda s, m: stamps.append(time.perf_counter()), log_every=1, **train_kwargs)
    return pairs * steps / (stamps[-1] - stamps[WARM_UP - 1])
