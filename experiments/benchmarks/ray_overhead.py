"""Ray overhead: Ray Train against the same loop with no framework, on 1 worker and on 2, side by side.

Run:
    python experiments/benchmarks/ray_overhead.py                          # Lu @ 64 px, 60 steps, 1 and 2 workers
    python experiments/benchmarks/ray_overhead.py --workers 1 --repeats 1 --steps 30     # a quick look (~2 min)

Every side trains the same config (efficientnet_lite0 locked + transformer_tiny, 64 px, --steps steps of 64 pairs
from the demo shards, `make data`) with `litlab.loop.train`, using the whole machine:
  plain      one process: reads the parquet shards, decodes inline (`preprocess_batch`), torch on every CPU;
  ray        a fresh local Ray cluster; `litlab.cluster.packs.fit_cell` with 1 worker (Ray's CPUs less one for
             Ray Data; torch on every CPU, as the plain loop), Ray Data decoding alongside, rank 0 logging to MLflow;
             the cluster is shut down after;
  plain DDP  2 processes (gloo, spawned) with 1 torch thread each: each reads the shards and decodes its half of
             every 64-row batch inline; DistributedDataParallel with the token table averaged by the rows looked up
             (litlab.row_sync), the global contrastive loss, as Ray's workers do;
  ray 2      `fit_cell` with 2 workers (0.5 CPU and 1 thread each on 2 CPUs, as a sweep sizes them; as the DDP
             processes' threads).
pairs/s of a side: rank 0's logged steps after the first logging interval (start-up, warm-up), from the times the
values were logged (Ray: the timestamps in the run's MLflow history); beside it, as a breakdown without a goal, the
same from the second logged interval on (Ray's helper processes are still starting during the first one). Ray's
start-up (cluster, trainer, data) until the first logged step is printed apart. Each side's CPU seconds, from its
start to its end, are summed per process role (cpu_share.py: train workers, Ray Data, Ray Train helpers, ...).
Sides alternate, reversed every other repeat (A B C D, D C B A, ...); the ratios ray / plain are paired per repeat
and printed as median [min-max] with their count (goal >= 1.0x for both).
About 2.5 minutes per repeat on a 2-core CPU (most of it Ray starting); 2 repeats by default.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Iterator

import torch
import torch.distributed as dist
from cpu_share import CpuShare
from figures import report
from litlab.config import RunConfig, apply_overrides, default_data_root
from litlab.data.shards import iter_rows
from litlab.data.transforms import preprocess_batch
from litlab.distributed import all_gather_with_grad
from litlab.loop import train
from litlab.models.build import build_model
from litlab.row_sync import exclude_token_tables
from litlab.sizing import DATA_CPUS
from ranks import join, run_ranks
from torch.nn.parallel import DistributedDataParallel


def plain_batches(cfg: RunConfig, rank: int = 0, world: int = 1) -> Iterator[dict[str, torch.Tensor]]:
    """Endless batches of this rank's rows: of every batch_size rows read, the rank's 1/world share, decoded."""
    tok = {"tokenizer": cfg.text.tokenizer, "max_len": cfg.text.max_len, "size": cfg.image.size}
    per = cfg.data.batch_size // world
    for _ in itertools.count():
        chunk: list[dict] = []
        for row in iter_rows(f"{cfg.data.root}/{cfg.data.train}", columns=["jpg", "txt"]):
            chunk.append(row)
            if len(chunk) == cfg.data.batch_size:
                mine = chunk[rank * per:(rank + 1) * per]
                out = preprocess_batch({"jpg": [r["jpg"] for r in mine], "txt": [r["txt"] for r in mine]}, **tok)
                yield {k: torch.from_numpy(v) for k, v in out.items()}
                chunk = []


Rates = tuple[float, float]  # pairs/s from the first logged step, and from the second


def rate(cfg: RunConfig, stamps: list[tuple[int, float]]) -> Rates:
    """pairs/s between the first and the last logged step, and between the second and the last."""
    def between(a: tuple[int, float], b: tuple[int, float]) -> float:
        return cfg.data.batch_size * (b[0] - a[0]) / (b[1] - a[1])
    return between(stamps[0], stamps[-1]), between(stamps[min(1, len(stamps) - 2)], stamps[-1])


def plain(cfg: RunConfig) -> Rates:
    torch.set_num_threads(os.cpu_count() or 1)
    stamps: list[tuple[int, float]] = []
    train(build_model(cfg), plain_batches(cfg), cfg.optim, log=lambda s, m: stamps.append((s, time.perf_counter())),
          log_every=cfg.train.log_every)
    return rate(cfg, stamps)


def _ddp_rank(rank: int, world: int, port: int, out: dict, cfg: RunConfig) -> None:
    join(rank, world, port)
    model = build_model(cfg)
    exclude_token_tables(model)  # as Ray's workers do (litlab.row_sync)
    model = DistributedDataParallel(model)
    stamps: list[tuple[int, float]] = []
    train(model, plain_batches(cfg, rank, world), cfg.optim, log=lambda s, m: stamps.append((s, time.perf_counter())),
          log_every=cfg.train.log_every, gather=all_gather_with_grad, rank=rank, world_size=world,
          seed=cfg.train.seed)
    if rank == 0:
        out["rate"] = rate(cfg, stamps)
    dist.destroy_process_group()


def plain_ddp(cfg: RunConfig, world: int = 2) -> Rates:
    return run_ranks(_ddp_rank, world, cfg, start_method="spawn")["rate"]


def ray_run(cfg: RunConfig, folder: str) -> tuple[Rates, float]:
    """(pairs/s after the first log interval and after the second, seconds from the start to the first logged
    step)."""
    from litlab.cluster.packs import fit_cell
    from litlab.cluster.session import connect, shutdown
    from litlab.cluster.tracking import cell_tags, client, create_cell_run, ensure_experiment, local_store_uri

    start = time.time()
    connect()
    uri = local_store_uri(folder)
    run_id = create_cell_run(uri, ensure_experiment(uri, "ray-overhead"), cfg, cell_tags(cfg, "bench", (), "bench"))
    try:
        fit_cell(cfg, name="bench", storage=f"{folder}/ray", tracking_uri=uri, run_id=run_id)  # closes the run
    finally:
        shutdown()
    loss = sorted(client(uri).get_metric_history(run_id, "train/loss"), key=lambda m: m.step)
    stamps = [(m.step, m.timestamp / 1000) for m in loss]
    return rate(cfg, stamps), stamps[0][1] - start


def sized(cfg: RunConfig, workers: int) -> RunConfig:
    """``workers`` Ray workers sharing the CPUs left after Ray Data's (Ray's bookkeeping), each with the torch
    threads of its plain counterpart: all the CPUs for 1 worker (the plain loop's), CPUs / workers for more (the
    DDP processes')."""
    cpus = os.cpu_count() or 1
    per = max(0.5, (cpus - DATA_CPUS) / workers)
    return apply_overrides(cfg, {"train.workers": workers, "train.cpus_per_worker": per,
                                 "train.torch_threads": max(1, cpus // workers)})


def sides(cfg: RunConfig, workers: list[int], startups: list[float]) -> dict[str, Callable[[], Rates]]:
    def ray(n: int) -> Callable[[], Rates]:
        def run() -> Rates:
            with tempfile.TemporaryDirectory(prefix="litlab-ray-overhead-") as folder:
                pairs, startup = ray_run(sized(cfg, n), folder)
            startups.append(startup)
            return pairs
        return run
    out: dict[str, Callable[[], Rates]] = {}
    if 1 in workers:
        out |= {"plain": lambda: plain(cfg), "ray": ray(1)}
    if 2 in workers:
        out |= {"plain DDP 2": lambda: plain_ddp(cfg), "ray 2": ray(2)}
    return out


def measure(runs: dict[str, Callable[[], Rates]], repeats: int) -> tuple[dict[str, list[Rates]],
                                                                           dict[str, list[dict[str, float]]]]:
    """Every side ``repeats`` times, alternated: its rates and its CPU seconds per process role, per repeat."""
    rates: dict[str, list[Rates]] = {name: [] for name in runs}
    cpu: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for r in range(repeats):
        for name in list(runs) if r % 2 == 0 else list(runs)[::-1]:
            with CpuShare() as share:
                rates[name].append(runs[name]())
            cpu[name].append(share.seconds)
            where = ", ".join(f"{role} {sec:.1f}" for role, sec in share.seconds.items())
            print(f"repeat {r + 1}/{repeats}: {name} {rates[name][-1][0]:.1f} pairs/s "
                  f"({rates[name][-1][1]:.1f} from the second logged interval); CPU-s {where}", flush=True)
    return rates, cpu


def summary(rates: dict[str, list[Rates]], cpu: dict[str, list[dict[str, float]]], startups: list[float]) -> None:
    for name, values in rates.items():
        report(f"{name} pairs/s", [v[0] for v in values], fmt=".1f")
    for ours, theirs in (("ray", "plain"), ("ray 2", "plain DDP 2")):
        if ours in rates:
            pairs = list(zip(rates[ours], rates[theirs], strict=True))
            report(f"{ours} / {theirs}", [a[0] / b[0] for a, b in pairs], goal=">= 1.0", unit="x")
            report(f"{ours} / {theirs} from the second logged interval", [a[1] / b[1] for a, b in pairs], unit="x")
    report("ray start-up until the first logged step", startups, unit=" s", fmt=".0f")
    for name, per_run in cpu.items():
        roles = sorted({role for run in per_run for role in run}, key=lambda r: -max(run.get(r, 0) for run in per_run))
        report(f"{name} CPU-s, all processes", [sum(run.values()) for run in per_run], unit=" s", fmt=".1f")
        for role in roles:
            report(f"{name} CPU-s: {role}", [run.get(role, 0.0) for run in per_run], unit=" s", fmt=".1f")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--setup", default="Lu")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--workers", default="1,2", help="which comparisons: 1 (ray vs plain), 2 (ray 2 vs plain DDP)")
    p.add_argument("--repeats", type=int, default=2, help="runs of every side, alternated")
    p.add_argument("--root", default=default_data_root())
    args = p.parse_args()
    workers = sorted({int(w) for w in args.workers.split(",")})
    if not set(workers) <= {1, 2} or not workers:
        raise SystemExit(f"--workers {args.workers}: choose from 1, 2 (comma-separated)")
    cfg = apply_overrides(RunConfig(), {
        "setup": args.setup, "image.size": 64, "data.root": args.root, "data.batch_size": 64,
        "optim.steps": args.steps, "optim.warmup_steps": 5, "train.log_every": 10, "eval.evals": ""})
    startups: list[float] = []
    rates, cpu = measure(sides(cfg, workers, startups), args.repeats)
    print(f"\nmedian [min-max] over {args.repeats} alternated repeats (ratios paired per repeat):")
    summary(rates, cpu, startups)


if __name__ == "__main__":
    main()
