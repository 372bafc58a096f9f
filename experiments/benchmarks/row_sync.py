"""Two DDP workers' training step with the text tower's token table all-reduced whole, and by its touched rows.

Run:
    python experiments/benchmarks/row_sync.py                    # LU and UU, 3 alternated repeats
    python experiments/benchmarks/row_sync.py --setups Lu --repeats 5

Two gloo processes on this machine (forked, no Ray: the step alone), each one torch thread and 16 pairs of the demo
shards' `train/` a step (`make data`), 64 px, MiniLM, global negatives, trained through ``litlab.loop.train``:
  rows   as litlab's Ray workers run: the vocabulary table taken out of DDP (``litlab.row_sync``), its gradient
         averaged over the rows some worker's captions touched;
  whole  DDP all-reduces every parameter, the table's 30,522 x 384 gradient included.
Both compute the same gradients bit for bit (tests/unit/test_row_sync.py). Sides alternate (A B, B A, ...); prints
per setting the median and min-max of the global pairs/s and the ratio paired per repeat.
About 3 minutes on a 2-core CPU (2 settings, 3 repeats).
"""

from __future__ import annotations

import argparse
import itertools
from functools import partial

import torch.distributed as dist
from figures import alternate, paired, report
from litlab.config import RunConfig, default_data_root
from litlab.distributed import all_gather_with_grad
from litlab.models.build import build_model
from litlab.row_sync import exclude_token_tables
from precompute import rows
from ranks import join, run_ranks
from step_speed import demo_config, prepared
from timed_steps import WARM_UP, pairs_per_second
from torch.nn.parallel import DistributedDataParallel

SIDES = ("rows", "whole")
WORLD = 2


def worker(rank: int, world: int, port: int, out, cfg: RunConfig, batches: list, steps: int, side: str) -> None:
    join(rank, world, port)
    model = build_model(cfg)
    if side == "rows":
        exclude_token_tables(model)
    mine = batches[rank::world]
    speed = pairs_per_second(DistributedDataParallel(model), itertools.islice(itertools.cycle(mine), steps + WARM_UP),
                             steps, len(mine[0]["ids"]) * world, gather=all_gather_with_grad, rank=rank,
                             world_size=world, seed=cfg.train.seed)
    if rank == 0:
        out["pairs_s"] = speed
    dist.destroy_process_group()


def timed(cfg: RunConfig, batches: list, steps: int, side: str) -> float:
    """Global pairs/s of the two workers over ``steps`` steps after 2 warm-up steps."""
    return float(run_ranks(worker, WORLD, cfg, batches, steps, side)["pairs_s"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=default_data_root())
    p.add_argument("--setups", default="LU,UU", help="comma-separated tower settings (a text tower U or u)")
    p.add_argument("--batch", type=int, default=16, help="pairs a worker (the demo: 32 over 2 workers)")
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--repeats", type=int, default=3, help="timed runs of each side, alternated")
    args = p.parse_args()
    data = rows(args.root, 2 * 20 * args.batch)
    for setup in args.setups.split(","):
        cfg = demo_config(setup)
        batches = prepared(data, cfg, args.batch)
        speed = alternate(SIDES, args.repeats, partial(timed, cfg, batches, args.steps), setup)
        print(f"\n{setup}: 2 workers x {args.batch} pairs; median [min-max] over {args.repeats} alternated repeats "
              "(ratio paired per repeat):")
        for side, pairs in speed.items():
            report(f"{setup} {side} pairs/s", pairs, fmt=".1f")
        report(f"{setup} rows vs whole (faster)", paired(speed["rows"], speed["whole"]), unit="x")


if __name__ == "__main__":
    main()
