"""Sweep efficiency: how much of a sweep's wall time is spent training, and what each trial costs besides.

Run:
    python experiments/benchmarks/sweep.py                                  # the demo's study: paper-small towers
    python experiments/benchmarks/sweep.py --cells 2 --steps 40             # a quicker look (2 cells, 40 steps)
    python experiments/benchmarks/sweep.py --cells 2 --max-concurrent 2     # start-up of one beside another's steps
    python experiments/benchmarks/sweep.py --seeds 3                        # the demo: 21 cells in one pack
    python experiments/benchmarks/sweep.py --from-sweep demo-towers         # read a sweep already run (make demo)

Starts a local Ray cluster (its start-up is printed apart and not counted), then runs the cells of
``--preset``/``--study`` (default: ``paper-small``/``towers``, the demo's 7 cells of 60 steps; ``--cells N`` keeps
the first N, ``--steps N`` changes their length) through ``litlab.cluster.tune.run_sweep`` exactly as
experiments/design_grid.py does, into a throw-away MLflow store. Every trial's rank 0 records its training stretches
and evaluations as ``time/*`` metrics (``litlab.timeline``); from them this prints, per trial, its start-up (trial
function start -> first optimizer step), training, evaluation and shut-down (last step -> its MLflow run closed,
less the final evaluation) times, then for the sweep:
  - the training fraction = union of every trial's training stretches / sweep wall time (goal >= 0.8);
  - the fixed cost per trial = start-up + shut-down, evaluations apart (goal <= 10 s on a 2-core CPU);
  - the time between trials (no trial function running: Tune scheduling, trial actors starting and stopping).
With ``--from-sweep NAME`` it runs nothing and reads the same figures from a sweep already in MLflow (``--mlflow-uri``,
default ./mlruns), its wall time taken from the first trial's start to the last trial's end. Needs the demo shards
(`make data`). The full demo study takes about 15 minutes on a 2-core CPU; --cells 2 about 4.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from litlab.config import override
from litlab.timeline import SweepBreakdown, sweep_breakdown

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import design_grid  # noqa: E402 - experiments/ is not a package


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="paper-small")
    p.add_argument("--study", default="towers")
    p.add_argument("--cells", type=int, default=0, help="keep the first N cells (default: all)")
    p.add_argument("--seeds", type=int, default=1, help="replicates per cell (make demo: 3); under fifo the cells "
                   "that can share workers train in one pack, one Train run start-up for all (litlab.cluster.packs)")
    p.add_argument("--steps", type=int, default=0, help="optim.steps of every cell (default: the study's)")
    p.add_argument("--max-concurrent", type=int, default=0, help="default: as many as the CPUs fit (design_grid)")
    p.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    p.add_argument("--from-sweep", default="", help="read this sweep's records instead of running one")
    p.add_argument("--mlflow-uri", default="", help="with --from-sweep: its MLflow store (default: ./mlruns)")
    return p.parse_args()


def cells_of(args: argparse.Namespace) -> list:
    words = ["--preset", args.preset, "--study", args.study, "--seeds", str(args.seeds)]
    cells = design_grid.build_cells(design_grid.parse_args(words + [w for s in args.sets for w in ("--set", s)]))
    groups = list(dict.fromkeys(c.group for c in cells))  # the settings, in order
    kept = set(groups[: args.cells] if args.cells else groups)  # the first N, with every replicate
    cells = [c for c in cells if c.group in kept]
    if args.steps:
        cells = [replace(c, config=override(c.config, "optim.steps", args.steps)) for c in cells]
    return cells


def show(b: SweepBreakdown, concurrent: int) -> None:
    print(f"{'cell':36s} {'start-up':>8s} {'(workers':>8s} {'model':>6s} {'rest)':>6s} {'train':>7s} {'eval':>6s} "
          f"{'other':>6s} {'shut':>6s} {'wall':>7s}")
    for t in b.trials:
        rest = t.startup_s - t.to_workers_s - t.model_s
        print(f"{t.cell:36s} {t.startup_s:8.1f} {t.to_workers_s:8.1f} {t.model_s:6.1f} {rest:6.1f} {t.train_s:7.1f} "
              f"{t.eval_s:6.1f} {t.other_s:6.1f} {t.shutdown_s:6.1f} {t.wall_s:7.1f}")
    print("start-up = (trial start -> rank 0's train function: Train controller and workers) + model build + "
          "(the rest: DDP, MLflow, evaluation sets, Ray Data to the first batch)")
    n = len(b.trials)
    at_once = f"{concurrent} at a time" if concurrent else "as the sweep ran them"
    print(f"{n} trials, {at_once}: sweep wall {b.wall_s:.1f} s, training (union) {b.train_union_s:.1f} s,"
          f" between trials {b.between_trials_s:.1f} s ({b.between_trials_s / n:.1f} s a trial)")
    print(f"training fraction {b.training_fraction:.2f} (goal >= 0.8); fixed cost per trial {b.mean('fixed_s'):.1f} s "
          f"= start-up {b.mean('startup_s'):.1f} + shut-down {b.mean('shutdown_s'):.1f} (goal <= 10 s); "
          f"evaluation {b.mean('eval_s'):.1f} s a trial")


def recorded(args: argparse.Namespace) -> None:
    """The breakdown of a sweep already run, from its MLflow records alone."""
    from litlab.cluster.profile import trial_times
    from litlab.cluster.tracking import local_store_uri

    uri = args.mlflow_uri or local_store_uri(design_grid.REPO / "mlruns")
    trials = trial_times(uri, args.from_sweep)
    if not trials:
        raise SystemExit(f"error: no finished cell run of sweep {args.from_sweep!r} in {uri}")
    wall = max(t.end for t in trials) - min(t.start for t in trials)
    print(f"sweep {args.from_sweep!r} in {uri}: wall time from the first trial's start to the last trial's end")
    show(sweep_breakdown(trials, wall), concurrent=0)


def main() -> None:
    args = parse_args()
    if args.from_sweep:
        return recorded(args)
    cells = cells_of(args)
    from litlab.cluster.profile import trial_times
    from litlab.cluster.session import cluster_nodes, connect
    from litlab.cluster.tracking import local_store_uri
    from litlab.cluster.tune import run_sweep
    from litlab.sizing import sized_sweep

    tic = time.perf_counter()
    connect()
    print(f"Ray start-up: {time.perf_counter() - tic:.1f} s (not counted)", flush=True)
    cells, concurrent = sized_sweep(cells, cluster_nodes(), args.max_concurrent)  # as design_grid does
    with tempfile.TemporaryDirectory(prefix="litlab-sweep-bench") as tmp:
        uri = local_store_uri(Path(tmp) / "mlruns")
        tic = time.perf_counter()
        results = run_sweep(cells, sweep="bench-sweep", tracking_uri=uri, storage=str(Path(tmp) / "ray"),
                            max_concurrent=concurrent)
        wall = time.perf_counter() - tic
        failed = [r for r in results if r.status != "FINISHED"]
        for r in failed:
            print(f"  {r.status} {r.cell_id}: {r.error}", flush=True)
        show(sweep_breakdown(trial_times(uri, "bench-sweep"), wall), concurrent)


if __name__ == "__main__":
    main()
