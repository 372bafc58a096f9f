"""Ray overhead: a 1-worker Ray Train run vs `litlab.loop.train` in one plain process, on the same shards.

Run:
    python experiments/benchmarks/ray_overhead.py                   # Lu, efficientnet_lite0 @ 64 px, 60 steps
    python experiments/benchmarks/ray_overhead.py --setup uu --steps 40

Both train the same config for --steps steps of 64 pairs from the demo shards (`make data`):
  plain  one process: read the parquet shards, decode + resize + tokenize (`preprocess_batch`), `loop.train`;
  ray    a local Ray cluster: Ray Data streams and decodes the shards, a TorchTrainer with 1 worker (all the CPUs)
         runs the same loop; its pairs/s come from the metrics it logs to MLflow.
Throughput skips the first logging interval (start-up, warm-up) in both. Prints pairs/s and ray/plain (goal
>= 0.9x). Start-up time of the Ray run (cluster, trainer, dataset) is printed apart. About 3 minutes on a 2-core
CPU.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from collections.abc import Iterator

import torch
from litlab.config import RunConfig, apply_overrides, default_data_root
from litlab.data.shards import iter_rows
from litlab.data.transforms import preprocess_batch
from litlab.loop import train
from litlab.models.build import build_model


def plain_batches(cfg: RunConfig) -> Iterator[dict[str, torch.Tensor]]:
    tok = {"tokenizer": cfg.text.tokenizer, "max_len": cfg.text.max_len, "size": cfg.image.size}
    for _ in itertools.count():
        chunk: list[dict] = []
        for row in iter_rows(f"{cfg.data.root}/{cfg.data.train}", columns=["jpg", "txt"]):
            chunk.append(row)
            if len(chunk) == cfg.data.batch_size:
                out = preprocess_batch({"jpg": [r["jpg"] for r in chunk], "txt": [r["txt"] for r in chunk]}, **tok)
                yield {k: torch.from_numpy(v) for k, v in out.items()}
                chunk = []


def plain(cfg: RunConfig) -> float:
    torch.set_num_threads(os.cpu_count() or 1)
    stamps: list[tuple[int, float]] = []
    train(build_model(cfg), plain_batches(cfg), cfg.optim, log=lambda s, m: stamps.append((s, time.perf_counter())),
          log_every=cfg.train.log_every)
    (s0, t0), (s1, t1) = stamps[0], stamps[-1]
    return cfg.data.batch_size * (s1 - s0) / (t1 - t0)


def ray_run(cfg: RunConfig, folder: str) -> tuple[float, float]:
    """(pairs/s after the first log interval, seconds until the first logged step)."""
    from litlab.cluster.finish import finish_cell
    from litlab.cluster.session import connect, shutdown
    from litlab.cluster.tracking import cell_tags, client, create_cell_run, ensure_experiment, local_store_uri
    from litlab.cluster.train import fit_cell

    start = time.time()
    connect()
    uri = local_store_uri(folder)
    run_id = create_cell_run(uri, ensure_experiment(uri, "ray-overhead"), cfg, cell_tags(cfg, "bench", (), "bench"))
    try:
        result = fit_cell(cfg, name="bench", storage=f"{folder}/ray", tracking_uri=uri, run_id=run_id)
        finish_cell(result, uri=uri, run_id=run_id, invocation=None)  # publishes the history read below
    finally:
        shutdown()
    loss = client(uri).get_metric_history(run_id, "train/loss")
    first, last = min(loss, key=lambda m: m.step), max(loss, key=lambda m: m.step)
    pairs = cfg.data.batch_size * (last.step - first.step) / ((last.timestamp - first.timestamp) / 1000)
    return pairs, first.timestamp / 1000 - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--setup", default="Lu")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--root", default=default_data_root())
    args = p.parse_args()
    cpus = os.cpu_count() or 1
    cfg = apply_overrides(RunConfig(), {
        "setup": args.setup, "image.size": 64, "data.root": args.root, "data.batch_size": 64,
        "optim.steps": args.steps, "optim.warmup_steps": 5, "train.log_every": 10, "eval.evals": "",
        "train.workers": 1, "train.cpus_per_worker": max(1.0, cpus - 1.0), "train.torch_threads": cpus})
    plain_pairs = plain(cfg)
    print(f"plain  {plain_pairs:7.1f} pairs/s", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        ray_pairs, startup = ray_run(cfg, folder)
    print(f"ray    {ray_pairs:7.1f} pairs/s   (first step logged {startup:.0f} s after start: cluster, trainer, data)")
    print(f"ray / plain = {ray_pairs / plain_pairs:.2f}x (goal >= 0.9x)")


if __name__ == "__main__":
    main()
