"""Data pipeline throughput and memory: Ray Data streaming vs plain single-process decode of the same shards.

Run:
    python experiments/benchmarks/data_pipeline.py                      # 224 px train transform, 10k vs 100k rows
    python experiments/benchmarks/data_pipeline.py --size 64 --rows 4000 --big-rows 20000   # quicker

Shards: real photos (scikit-image's) cut into --rows distinct JPEGs of 240-400 px sides (one shard set), then
that set's files repeated under new names to reach --big-rows (bytes on disk grow, the work per row is alike).
Both sides run the training transform (`preprocess_batch`: decode, inception crop 5-100 %, flip, resize, tokenize):
  plain  one process reads the shards with pyarrow and transforms 256-row batches in a loop;
  ray    `litlab.cluster.data.train_dataset` (the training path: Ray Data read_parquet -> map_batches) on a local
         Ray cluster with all the CPUs, consumed as numpy batches by the driver;
  plain, N processes   the plain loop in --cpus processes (multiprocessing, files dealt round-robin): no framework,
         the bound on what any pipeline gets from these cores (two processes share caches and memory bandwidth).
Prints rows/s of each over the same --rows rows, --repeats passes each, alternated in this one run, and ray/plain of
the medians (goal >= 1.6x on 2 cores); then, in two more passes, the peak memory (PSS, summed over this process and
every Ray process it started, sampled every 0.25 s) while the ray pipeline streams --rows vs --big-rows rows (goal:
within 10 %). The timed passes do not sample memory: a sample costs ~70 ms of CPU with a Ray cluster up.
About 8 minutes on a 2-core CPU (building the shards takes ~40 s of it, the 100k-row pass ~2.5 min).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import multiprocessing.pool
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from figures import report
from litlab.config import RunConfig, apply_overrides
from litlab.data.shards import Record, encode_jpeg, iter_rows, read_stats, write_shards
from litlab.data.transforms import preprocess_batch, train_transform_kwargs
from PIL import Image
from procs import processes
from skimage import data as skdata

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")


def photo_records(n: int, seed: int = 0):
    """``n`` distinct JPEG crops of real photos, 240-400 px a side, with short captions."""
    rng = np.random.default_rng(seed)
    photos = [Image.fromarray(getattr(skdata, name)()).convert("RGB") for name in PHOTOS]
    for i in range(n):
        name, img = PHOTOS[i % len(PHOTOS)], photos[i % len(photos)]
        w, h = int(rng.integers(240, 401)), int(rng.integers(240, 401))
        x, y = int(rng.integers(0, max(img.width - w, 0) + 1)), int(rng.integers(0, max(img.height - h, 0) + 1))
        crop = img.crop((x, y, x + w, y + h))
        yield Record(f"bench/{i:07d}", encode_jpeg(crop, quality=90), f"a {name.replace('_', ' ')} photo {i}", {})


def build(folder: Path, rows: int, big_rows: int) -> tuple[Path, Path]:
    """(small split, big split): the big one repeats the small one's files under other names."""
    small, big = folder / "small", folder / "big"
    write_shards(photo_records(rows), small, rows_per_shard=1000)
    big.mkdir()
    files = sorted(small.glob("*.parquet"))
    for i in range(-(-big_rows // rows)):
        for f in files:
            shutil.copy(f, big / f"copy{i:03d}-{f.name}")
    return small, big


def transform_files(files: list[Path], kw: dict) -> int:
    """Rows that came out of the training transform over ``files``, read in 256-row batches."""
    n = 0
    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=256, columns=["jpg", "txt"]):
            n += len(preprocess_batch(batch.to_pydict(), **kw)["ids"])
    return n


def plain(split: Path, cfg: RunConfig, pool: multiprocessing.pool.Pool | None = None) -> float:
    """rows/s of one process transforming every row of ``split``; with ``pool``, of its processes each taking
    every n-th file (no framework: what the cores give at best)."""
    files, kw = sorted(split.glob("*.parquet")), train_transform_kwargs(cfg)
    tic = time.perf_counter()
    if pool is None:
        n = transform_files(files, kw)
    else:
        k = pool._processes  # noqa: SLF001 (the pool's size; no public accessor)
        n = sum(pool.starmap(transform_files, [(files[i::k], kw) for i in range(k)]))
    return n / (time.perf_counter() - tic)


def process_tree_pss(root: int) -> int:
    """Summed PSS in bytes of ``root`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for p in processes().values():
        children.setdefault(p.ppid, []).append(p.pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class PeakMemory:
    """Samples ``process_tree_pss`` of this process in a thread; ``peak`` in bytes."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.every_s, self.peak, self._stop = every_s, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, process_tree_pss(os.getpid()))
            time.sleep(self.every_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def ray_pass(root: Path, split: str, cfg: RunConfig, sample_memory: bool = False) -> tuple[float, int, int]:
    """(rows/s, rows, peak PSS bytes or 0) of one pass of the training pipeline over ``split``. The sampler costs
    ~70 ms of CPU per sample with a Ray cluster up, so passes that are timed do not sample."""
    from litlab.cluster.data import train_dataset

    cfg = apply_overrides(cfg, {"data.root": str(root), "data.train": split})
    ds = train_dataset(cfg)
    with PeakMemory() if sample_memory else contextlib.nullcontext() as mem:
        tic, n = time.perf_counter(), 0
        for batch in ds.iter_batches(batch_size=256, batch_format="numpy", prefetch_batches=2):
            n += len(batch["ids"])
        seconds = time.perf_counter() - tic
    return n / seconds, n, mem.peak if mem is not None else 0


def timed_passes(root: Path, cfg: RunConfig, repeats: int, cpus: int) -> dict[str, list[float]]:
    """rows/s of each side over the small split, ``repeats`` passes each, alternated so that drifts of the machine
    hit every side. Ray is up (idle) while the plain sides run, as it would be on a node."""
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(cpus) as pool:
        plain(root / "small", cfg, pool)  # warm-up: the processes started, the tokenizer loaded
        ray_pass(root, "small", cfg)
        rates: dict[str, list[float]] = {"plain": [], "processes": [], "ray": []}
        for i in range(repeats):
            rates["plain"].append(plain(root / "small", cfg))
            rates["ray"].append(ray_pass(root, "small", cfg)[0])
            rates["processes"].append(plain(root / "small", cfg, pool))
            print(f"  pass {i + 1}/{repeats}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in rates.items()), flush=True)
    return rates


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--big-rows", type=int, default=100000)
    p.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    p.add_argument("--repeats", type=int, default=5, help="passes of each side over --rows (median reported)")
    args = p.parse_args(argv)
    cfg = apply_overrides(RunConfig(), {"image.size": args.size})
    with tempfile.TemporaryDirectory(prefix="litlab-bench-") as tmp:
        tic = time.perf_counter()
        small, big = build(Path(tmp), args.rows, args.big_rows)
        print(f"shards: {read_stats(small).rows} rows + {len(list(big.glob('*.parquet')))} files repeated "
              f"({time.perf_counter() - tic:.0f} s to build)", flush=True)
        print(f"sample caption: {next(iter_rows(small, ['txt']))['txt']!r}")
        from litlab.cluster.session import connect, shutdown

        connect(num_cpus=args.cpus)
        try:
            rates = timed_passes(Path(tmp), cfg, args.repeats, args.cpus)
            _, n_small, mem_small = ray_pass(Path(tmp), "small", cfg, sample_memory=True)
            _, n_big, mem_big = ray_pass(Path(tmp), "big", cfg, sample_memory=True)
        finally:
            shutdown()
    print(f"\n{args.size} px train transform, {args.cpus} CPUs, median of {args.repeats} passes each")
    med = {k: statistics.median(v) for k, v in rates.items()}
    names = {"plain": "plain single process", "ray": "ray data pipeline",
             "processes": f"plain, {args.cpus} processes"}
    for k in ("plain", "ray", "processes"):
        print(f"  {names[k]:22s}{med[k]:7.0f} rows/s  {med[k] / med['plain']:.2f}x  "
              f"(runs: {', '.join(f'{r:.0f}' for r in rates[k])})")
    print(f"  ray/plain = {med['ray'] / med['plain']:.2f}x (goal >= 1.6x); the {args.cpus} processes with no framework "
          f"bound what any pipeline gets here; ray reaches {med['ray'] / med['processes']:.0%} of them")
    print(f"  peak memory, {n_small} rows: {mem_small / 2**30:.2f} GiB;  {n_big} rows: {mem_big / 2**30:.2f} GiB;  "
          f"ratio {mem_big / mem_small:.2f} (goal within 10 %)")
    print(f"median [min-max] over the {args.repeats} alternated passes (ratios paired per pass; memory: one pass "
          "each):")
    report("ray/plain rows/s", [r / p for r, p in zip(rates["ray"], rates["plain"], strict=True)], goal=">= 1.6",
           unit="x")
    report("ray/processes rows/s", [r / p for r, p in zip(rates["ray"], rates["processes"], strict=True)], unit="x")
    report(f"peak memory {n_big} / {n_small} rows", [mem_big / mem_small], goal="<= 1.1", unit="x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
