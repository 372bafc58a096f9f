"""Sweep overhead: a grid's wall time vs the ideal (sum of its trials' times / the trials that run at once).

Run:
    python experiments/benchmarks/sweep.py                       # 4 tiny cells (Lu, uu, LU, Uu) on the demo shards
    python experiments/benchmarks/sweep.py --steps 40 --max-concurrent 1

Starts a local Ray cluster (its start-up is printed apart and not counted), then runs one sweep of --cells tiny
cells through `litlab.cluster.tune.run_sweep`, exactly as experiments/design_grid.py does, into a throw-away MLflow
store. Each trial logs `trial/seconds` (its own wall time, from the trial function's start to its MLflow run
closing). Prints each trial's time, the sweep's wall time, the ideal = sum(trial times) / concurrency, and
wall / ideal (goal <= 1.2x). The gap is what Tune itself adds: trial start-up, scheduling, result handling.
Needs the demo shards (`make data`). About 4 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from litlab.config import RunConfig, apply_overrides, default_data_root
from litlab.grid import Study, expand

SETUPS = ("Lu", "uu", "LU", "Uu", "UU", "uL", "UL")
TINY = {"image.size": 32, "data.batch_size": 16, "optim.warmup_steps": 2, "eval.max_images": 200,
        "train.log_every": 5, "text.arch": "minilm_l6"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, default=4, help=f"how many cells, settings in this order: {SETUPS}")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--max-concurrent", type=int, default=0, help="default: as many as the CPUs fit (design_grid)")
    p.add_argument("--data-root", default=default_data_root())
    args = p.parse_args()
    base = apply_overrides(RunConfig(), [*TINY.items(), ("optim.steps", args.steps), ("data.root", args.data_root)])
    cells = expand(base, [Study("towers", {"setup": SETUPS[: args.cells]})])

    from litlab.cluster.session import cluster_nodes, connect
    from litlab.cluster.tracking import fetch_cell_runs, local_store_uri
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
        runs = {r["tags"]["cell"]: r for r in fetch_cell_runs(uri, "bench-sweep")}
        trial = {}
        for r in results:
            trial[r.cell_id] = runs[r.cell_id]["metrics"].get("trial/seconds", float("nan"))
            print(f"  {r.status:8s} {r.cell_id:12s} trial {trial[r.cell_id]:6.1f} s", flush=True)
    ideal = sum(trial.values()) / concurrent
    print(f"{len(cells)} cells, {concurrent} at a time: sweep wall {wall:.1f} s, ideal {ideal:.1f} s "
          f"(sum of trials / concurrency) -> wall / ideal = {wall / ideal:.2f}x (goal <= 1.2x)")


if __name__ == "__main__":
    main()
