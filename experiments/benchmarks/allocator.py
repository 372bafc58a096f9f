"""A demo worker's training step under glibc's default malloc thresholds and under the ones litlab's workers get.

Run:
    python experiments/benchmarks/allocator.py                   # Lu and UU, 3 alternated repeats
    python experiments/benchmarks/allocator.py --setups Lu --repeats 5

glibc reads its malloc settings when a process starts, so each side is a fresh child process of this script running
step_speed.py's shipped step (one worker's 16 pairs of the demo shards, 64 px, MiniLM, one torch thread, `make data`):
  litlab   with ``litlab.cluster.session.GLIBC_MALLOC`` in its environment, as every Ray worker litlab starts;
  default  without it: large blocks are mmap'd per allocation and handed back to the kernel when freed.
Sides alternate (A B, B A, ...). Prints per setting the median and min-max pairs/s of each side, the ratio paired per
repeat, and each side's minor page faults and system CPU seconds per step (getrusage of the child over the timed run,
the model's build included).
About 3 minutes on a 2-core CPU (2 settings, 3 repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from functools import partial

import torch
from figures import alternate, paired, report
from litlab.cluster.session import GLIBC_MALLOC
from litlab.config import default_data_root
from precompute import rows
from step_speed import demo_config, prepared, timed_run

SIDES = ("litlab", "default")


def child(args: argparse.Namespace) -> None:
    """One timed run in this process; prints a JSON line: pairs/s, minor faults and system seconds per step."""
    torch.set_num_threads(1)
    cfg = demo_config(args.setups)
    batches = prepared(rows(args.root, 20 * args.batch), cfg, args.batch)
    before = resource.getrusage(resource.RUSAGE_SELF)
    speed = timed_run(cfg, batches, args.steps, "shipped")
    after, steps = resource.getrusage(resource.RUSAGE_SELF), args.steps + 2
    print(json.dumps({"pairs_s": speed, "faults": (after.ru_minflt - before.ru_minflt) / steps,
                      "sys_s": (after.ru_stime - before.ru_stime) / steps}))


def run_side(side: str, setup: str, args: argparse.Namespace) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in GLIBC_MALLOC}
    if side == "litlab":
        env |= GLIBC_MALLOC
    cmd = [sys.executable, __file__, "--child", "--setups", setup, "--root", args.root, "--batch", str(args.batch),
           "--steps", str(args.steps)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=default_data_root())
    p.add_argument("--setups", default="Lu,UU", help="comma-separated tower settings")
    p.add_argument("--batch", type=int, default=16, help="pairs a worker (the demo: 32 over 2 workers)")
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--repeats", type=int, default=3, help="child runs of each side, alternated")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)
    for setup in args.setups.split(","):
        got = alternate(SIDES, args.repeats, partial(run_side, setup=setup, args=args), setup, lambda x: x["pairs_s"])
        print(f"\n{setup}: median [min-max] over {args.repeats} alternated repeats (ratio paired per repeat):")
        for side, runs in got.items():
            report(f"{setup} {side} pairs/s", [x["pairs_s"] for x in runs], fmt=".1f")
            report(f"{setup} {side} minor faults per step", [x["faults"] for x in runs], fmt=".0f")
            report(f"{setup} {side} system CPU s per step", [x["sys_s"] for x in runs], fmt=".3f")
        report(f"{setup} litlab vs default (faster)",
               paired([x["pairs_s"] for x in got["litlab"]], [x["pairs_s"] for x in got["default"]]), unit="x")


if __name__ == "__main__":
    main()
