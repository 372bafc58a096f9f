"""Data pipeline throughput and memory: Ray Data streaming vs plain single-process decode of the same shards.

Run:
    python experiments/benchmarks/data_pipeline.py                      # 224 px train transform, 10k vs 100k rows
    python experiments/benchmarks/data_pipeline.py --size 64 --rows 4000 --big-rows 20000   # quicker

Shards: real photos (scikit-image's) cut into --rows distinct JPEGs of 240-400 px sides (one shard set), then
that set's files repeated under new names to reach --big-rows (bytes on disk grow, the work per row is alike).
Both sides run the training transform (`preprocess_batch`: decode, inception crop 5-100 %, flip, resize, tokenize):
  plain  one process reads the shards with pyarrow and transforms 256-row batches in a loop;
  ray    `litlab.cluster.data.train_dataset` (the training path: Ray Data read_parquet -> map_batches) on a local
         Ray cluster with all the CPUs, consumed as numpy batches by the driver.
Prints rows/s of each over the same --rows rows, --repeats passes each, alternated in this one run, and ray/plain of
the medians (goal >= 1.6x on 2 cores); then the peak memory (PSS, summed over this process and every Ray process
it started, sampled every 0.25 s) while the ray pipeline streams --rows vs --big-rows rows (goal: within 10 %).
About 6 minutes on a 2-core CPU (building the shards takes ~40 s of it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from litlab.config import RunConfig, apply_overrides
from litlab.data.shards import Record, encode_jpeg, iter_rows, read_stats, write_shards
from litlab.data.transforms import preprocess_batch
from PIL import Image
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


def plain(split: Path, cfg: RunConfig) -> float:
    """rows/s of one process transforming every row of ``split``."""
    kw = {"size": cfg.image.size, "tokenizer": cfg.text.tokenizer, "max_len": cfg.text.max_len,
          "area_min": cfg.data.crop_area_min}
    tic, n = time.perf_counter(), 0
    for f in sorted(split.glob("*.parquet")):
        for batch in pq.ParquetFile(f).iter_batches(batch_size=256, columns=["jpg", "txt"]):
            n += len(preprocess_batch(batch.to_pydict(), **kw)["ids"])
    return n / (time.perf_counter() - tic)


def process_tree_pss(root: int) -> int:
    """Summed PSS in bytes of ``root`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
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


def ray_pass(root: Path, split: str, cfg: RunConfig) -> tuple[float, int, float]:
    """(rows/s, rows, peak PSS bytes) of one pass of the training pipeline over ``split``."""
    from litlab.cluster.data import train_dataset

    cfg = apply_overrides(cfg, {"data.root": str(root), "data.train": split})
    ds = train_dataset(cfg)
    with PeakMemory() as mem:
        tic, n = time.perf_counter(), 0
        for batch in ds.iter_batches(batch_size=256, batch_format="numpy", prefetch_batches=2):
            n += len(batch["ids"])
        seconds = time.perf_counter() - tic
    return n / seconds, n, mem.peak


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--big-rows", type=int, default=100000)
    p.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    p.add_argument("--repeats", type=int, default=3, help="passes of each side over --rows (median reported)")
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
            ray_pass(Path(tmp), "small", cfg)  # warm-up: workers started, tokenizer loaded
            plains, rays, mems = [], [], []
            for _ in range(args.repeats):  # alternated, so drifts of the machine hit both sides
                plains.append(plain(small, cfg))
                rate, n_small, mem = ray_pass(Path(tmp), "small", cfg)
                rays.append(rate)
                mems.append(mem)
            _, n_big, mem_big = ray_pass(Path(tmp), "big", cfg)
        finally:
            shutdown()
    print(f"\n{args.size} px train transform, {args.cpus} CPUs")
    plain_rate, ray_rate, mem_small = statistics.median(plains), statistics.median(rays), max(mems)
    print(f"  plain single process  {plain_rate:7.0f} rows/s   (runs: {', '.join(f'{r:.0f}' for r in plains)})")
    print(f"  ray data pipeline     {ray_rate:7.0f} rows/s   (runs: {', '.join(f'{r:.0f}' for r in rays)})")
    print(f"  ray/plain = {ray_rate / plain_rate:.2f}x of the medians (goal >= 1.6x)")
    print(f"  peak memory, {n_small} rows: {mem_small / 2**30:.2f} GiB;  {n_big} rows: {mem_big / 2**30:.2f} GiB;  "
          f"ratio {mem_big / mem_small:.2f} (goal within 10 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
