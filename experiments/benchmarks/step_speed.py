"""A demo worker's training step as litlab runs it, against each of its two step-level savings undone.

Run:
    python experiments/benchmarks/step_speed.py                  # the demo's cell: 64 px, MiniLM, 16 pairs a worker
    python experiments/benchmarks/step_speed.py --setups Lu --repeats 5

One worker's share of a `make demo` step (`--batch` 16 pairs of the demo shards' `train/`, `make data`, captions
tokenized to text.max_len 16 with MiniLM's WordPiece, images at 64 px, one torch thread), trained through
``litlab.loop.train`` for --steps steps per --setups setting, three ways side by side in one process:
  shipped  as litlab runs: each batch's text encoded only up to its longest caption (``trim_padding``), AdamW's
           fused kernel (``litlab.optim.fusable``);
  padded   every caption's padding to 16 tokens encoded too (trim_padding replaced by the identity);
  unfused  AdamW's per-tensor loop, torch's default on CPU (fusable answering False).
All see the same batches in the same order and compute the same features and updates, up to float rounding
(tests/unit/test_text_towers.py, tests/unit/test_optim.py). Alternated repeats (A B C, C B A, ...); prints per setting
the median and min-max pairs/s of each side, the ratios paired per repeat and the mean token columns per batch.
About 4 minutes on a 2-core CPU (2 settings, 3 repeats).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch
from figures import alternate, paired, report
from litlab import optim
from litlab.config import RunConfig, apply_overrides, default_data_root
from litlab.data.transforms import preprocess_batch
from litlab.models.build import build_model
from litlab.models.text import base
from precompute import rows  # the demo shards' first n training rows
from timed_steps import WARM_UP, pairs_per_second

SIDES = ("shipped", "padded", "unfused")


def demo_config(setup: str, text_arch: str = "minilm_l6", size: int = 64) -> RunConfig:
    """A demo cell's towers: ``setup``, efficientnet-lite0 at ``size`` px, ``text_arch`` with MiniLM's WordPiece."""
    return apply_overrides(RunConfig(), {"setup": setup, "text.arch": text_arch, "text.tokenizer": "wordpiece_minilm",
                                         "image.size": size})


def prepared(data: list[dict], cfg: RunConfig, batch: int) -> list[dict[str, torch.Tensor]]:
    """The demo's batches, decoded and tokenized once (the step is what is timed, not the data pipeline)."""
    out = []
    for start in range(0, len(data) - batch + 1, batch):
        chunk = data[start:start + batch]
        arrays = preprocess_batch({"jpg": [r["jpg"] for r in chunk], "txt": [r["txt"] for r in chunk]},
                                  size=cfg.image.size, tokenizer=cfg.text.tokenizer, max_len=cfg.text.max_len)
        out.append({k: torch.from_numpy(v) for k, v in arrays.items()})
    return out


@contextmanager
def undone(side: str) -> Iterator[None]:
    """``padded``: every padded column encoded again; ``unfused``: AdamW's per-tensor loop; ``shipped``: neither."""
    trim, fusable = base.trim_padding, optim.fusable
    if side == "padded":
        base.trim_padding = lambda ids, mask: (ids, mask)
    if side == "unfused":
        optim.fusable = lambda params: False
    try:
        yield
    finally:
        base.trim_padding, optim.fusable = trim, fusable


def timed_run(cfg: RunConfig, batches: list[dict[str, torch.Tensor]], steps: int, side: str) -> float:
    """pairs/s over ``steps`` steps after 2 warm-up steps."""
    model = build_model(cfg)
    with undone(side):
        return pairs_per_second(model, itertools.islice(itertools.cycle(batches), steps + WARM_UP), steps,
                                len(batches[0]["ids"]), seed=cfg.train.seed)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=default_data_root())
    p.add_argument("--setups", default="Lu,uu", help="comma-separated tower settings")
    p.add_argument("--text-arch", default="minilm_l6")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=16, help="pairs a worker (the demo: 32 over 2 workers)")
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--repeats", type=int, default=3, help="timed runs of each side, alternated")
    args = p.parse_args()
    torch.set_num_threads(1)  # a demo worker's torch threads (train.torch_threads)
    data = rows(args.root, 20 * args.batch)
    for setup in args.setups.split(","):
        cfg = demo_config(setup, args.text_arch, args.size)
        batches = prepared(data, cfg, args.batch)
        tokens = np.mean([int(b["mask"].any(0).nonzero().max()) + 1 for b in batches])
        speed = alternate(SIDES, args.repeats, partial(timed_run, cfg, batches, args.steps), setup)
        print(f"\n{setup}: {tokens:.1f} of {cfg.text.max_len} token columns encoded per batch on average; median "
              f"[min-max] over {args.repeats} alternated repeats (ratios paired per repeat):")
        for side, pairs in speed.items():
            report(f"{setup} {side} pairs/s", pairs, fmt=".1f")
        for side in SIDES[1:]:
            report(f"{setup} shipped vs {side} (faster)", paired(speed["shipped"], speed[side]), unit="x")


if __name__ == "__main__":
    main()
