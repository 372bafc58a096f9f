"""Deduplicate the tuning split against evaluation images with Ray Data, once, into a new sibling split.

    python -m litlab.cluster.dedup --root ~/.cache/litlab/data --train train --mode test \\
        --evals zeroshot/fmnist-test retrieval/emoji-heldout [--method phash] [--threshold 4]

``ensure_dedup_split(cfg)`` -> (split to train on, counts). For ``data.dedup=none`` it is ``data.train`` and zero
counts. Otherwise (``litlab.data.dedup.plan``): the evaluation index is built once in the driver and broadcast
with ``ray.put``; pass 1 streams the tuning shards through Ray Data (``read_parquet`` of the key and the
method's column: ``sha1``, ``phash``, or ``jpg`` for embeddings, which the tower computes inside the
``map_batches`` actors) and returns only the rows that match; pass 2 copies every shard without those rows,
row group by row group, into the new split under the same file names. The new split holds ``_stats.json``
and ``_dedup.json`` (written last: mode, method, threshold, the evaluation sets, tune_rows, tune_removed,
eval_matched, every removed key with the evaluation key it matched closest, the matched evaluation keys,
and the identity a later run compares to reuse it). The original split is only read.

Local roots: built in ``<root>/.<split>.partial`` and renamed into place, under a file lock, so concurrent
callers build it once and a killed build never leaves a half split. ``s3://`` roots: written in place with
``_dedup.json`` last (a folder without it is unfinished and rebuilt). Memory: one index, a block of tuning
rows per task, one row group per writer, and the removed keys.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import posixpath
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray
import ray.data

from litlab import storage
from litlab.cluster.data import quiet_context, split_path
from litlab.cluster.session import connect
from litlab.config import ConfigError, RunConfig, apply_overrides
from litlab.data.dedup import MANIFEST, DedupPlan, DedupResult, EvalIndex, build_eval_index, get_method, match_batch
from litlab.data.dedup.plan import plan_for
from litlab.data.shards import ROW_GROUP, STATS, ShardStats, finish_folder, has_column, read_stats, verify_split
from litlab.progress import Rate

Progress = Callable[[str], None]
ZERO = {"tune_rows": 0, "tune_removed": 0, "eval_images": 0, "eval_matched": 0}
MATCH_BATCH = 256  # tuning rows per map_batches call (embeddings: the tower runs on them in sub-batches)


class Matcher:
    """A Ray Data actor: fetches the broadcast index once, returns the matching rows of each batch plus one
    bookkeeping row (key "", rows = the batch's size) so the driver can count and report progress."""

    def __init__(self, method: str, index: tuple[Any], threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.method = get_method(method, device=device) if method == "embedding" else get_method(method)
        self.index: EvalIndex = ray.get(index[0])

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        found = match_batch(batch, self.method, self.index)
        n = len(found["key"])
        return {"key": np.append(found["key"], "").astype(object),
                "eval": np.append(found["eval"], "").astype(object),
                "score": np.append(found["score"], np.nan),
                "hits": np.append(found["hits"], b"").astype(object),
                "rows": np.append(np.zeros(n, np.int64), len(batch["key"]))}


def _filter_shard(item: dict[str, Any], *, removed: tuple[Any], out: str) -> dict[str, Any]:
    """One Ray Data task: copy one source shard without the removed keys, row group by row group."""
    drop = ray.get(removed[0])  # pa.Array of removed keys
    src = str(item["file"])
    name = posixpath.basename(src)
    fs, path = storage.resolve(src)
    ofs, opath = storage.resolve(storage.join(out, name))
    read = kept = 0
    with fs.open_input_file(path) as f:
        pf = pq.ParquetFile(f)
        with contextlib.ExitStack() as stack:
            writer = None
            for batch in pf.iter_batches(batch_size=ROW_GROUP):
                read += batch.num_rows
                table = pa.Table.from_batches([batch])
                if len(drop):
                    table = table.filter(pc.invert(pc.is_in(table.column("key"), value_set=drop)))
                if not table.num_rows:
                    continue
                if writer is None:
                    stream = stack.enter_context(ofs.open_output_stream(opath))
                    writer = stack.enter_context(pq.ParquetWriter(stream, pf.schema_arrow))
                writer.write_table(table, row_group_size=ROW_GROUP)
                kept += table.num_rows
    size = ofs.get_file_info(opath).size if kept else 0
    return {"index": item["index"], "file": name if kept else "", "read": read, "rows": kept, "bytes": size}


def ensure_dedup_split(cfg: RunConfig, progress: Progress = print) -> tuple[str, dict[str, int]]:
    """(split name under ``cfg.data.root`` to train on, {tune_rows, tune_removed, eval_images, eval_matched}).

    Builds the filtered split once (Ray Data; connects to Ray if needed); a split whose ``_dedup.json`` matches
    this config's plan is reused as it is. ``data.dedup=none`` or no evaluation set: ``data.train``, zeros."""
    plan = plan_for(cfg)
    if plan is None or not plan.sources:
        if plan is not None:
            progress("dedup: eval.evals names no evaluation set; training on the split as it is")
        return cfg.data.train, dict(ZERO)
    out = split_path(plan.root, plan.split)
    with _lock(plan):
        manifest = _read_manifest(out)
        if manifest is not None and manifest.get("identity") == _jsonable(plan.identity()):
            progress(f"dedup: reusing {out} (tune_removed={manifest['tune_removed']}, "
                     f"eval_matched={manifest['eval_matched']})")
            return plan.split, {k: int(manifest[k]) for k in ZERO}
        manifest = _build(plan, out, progress)
    return plan.split, {k: int(manifest[k]) for k in ZERO}


@contextlib.contextmanager
def _lock(plan: DedupPlan) -> Iterator[None]:
    """An exclusive file lock per split on a local root (a second caller waits, then reuses); none on s3://."""
    if storage.is_remote(plan.root):
        yield
        return
    root = Path(storage.resolve(plan.root)[1])
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{plan.split}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _read_manifest(out: str) -> dict[str, Any] | None:
    path = storage.join(out, MANIFEST)
    if not storage.is_file(path) or not storage.is_file(storage.join(out, STATS)):
        return None
    try:
        return json.loads(storage.read_text(path))
    except ValueError:
        return None


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data))


def _build(plan: DedupPlan, out: str, progress: Progress) -> dict[str, Any]:
    tic = time.perf_counter()
    source = split_path(plan.root, plan.train)
    source_stats = read_stats(source) if storage.is_file(storage.join(source, STATS)) else None
    files = verify_split(source) if source_stats is None or source_stats.files else []
    method = plan.make_method()
    index = build_eval_index(plan.sources, method, plan.threshold, progress=progress)
    connect()
    quiet_context()
    result = _match(plan, files, index, progress)
    work_dir = out if storage.is_remote(out) else split_path(plan.root, f".{plan.split}.partial")
    _clear(work_dir)
    removed = sorted(result.removed)
    stats = _write(files, work_dir, removed, source_stats.skipped if source_stats else {})
    if stats.rows != result.tune_rows - result.tune_removed:
        raise RuntimeError(f"dedup: wrote {stats.rows} rows but expected {result.tune_rows} - "
                           f"{result.tune_removed}; are tuning keys unique in {source}?")
    manifest = {
        "mode": plan.mode, "method": plan.method, "threshold": plan.threshold, "train": plan.train,
        "eval_sets": [{"name": s.name, "root": s.root, "role": s.role, "images": s.images,
                       "unreadable": s.unreadable} for s in index.sets],
        **result.counts(), "eval_images": len(index),
        "seconds": round(time.perf_counter() - tic, 1),
        "removed": {k: {"eval": result.removed[k][0], "score": result.removed[k][1]} for k in removed},
        "eval_matched_keys": sorted(str(k) for k in index.keys[result.eval_hit]),
        "identity": _jsonable(plan.identity()),
    }
    storage.write_bytes_atomic(storage.join(work_dir, MANIFEST), (json.dumps(manifest, indent=1) + "\n").encode())
    if work_dir != out:
        final = storage.resolve(out)[1]
        shutil.rmtree(final, ignore_errors=True)
        Path(storage.resolve(work_dir)[1]).rename(final)
    progress(f"dedup: removed {result.tune_removed} of {result.tune_rows} tuning rows, matched "
             f"{result.eval_matched} of {len(index)} evaluation images ({plan.method}, threshold "
             f"{plan.threshold:g}); wrote {out}: {stats.rows} rows in {stats.shards} shards "
             f"({manifest['seconds']} s)")
    return manifest


def _match(plan: DedupPlan, files: list[str], index: EvalIndex, progress: Progress) -> DedupResult:
    """Pass 1: stream the tuning shards through the Matcher actors; add up what matched."""
    result = DedupResult(len(index))
    total = _count_rows(files)
    if not files or not len(index):
        result.tune_rows = total
        return result
    method = get_method(plan.method)
    columns = [c for c in method.columns if c != "jpg" and has_column(files, c)]
    columns = columns if len(columns) == len(method.columns) else ["jpg"]
    embed = plan.method == "embedding"
    gpu = embed and ray.cluster_resources().get("GPU", 0) >= 1
    cpus = ray.cluster_resources().get("CPU", 1)
    ref = ray.put(index)  # broadcast once: every actor reads the same object
    ds = ray.data.read_parquet(files).select_columns(["key", *columns])
    ds = ds.map_batches(Matcher, fn_constructor_kwargs={"method": plan.method, "index": (ref,),
                                                        "threads": 1 if gpu or not embed else max(1, int(cpus))},
                        batch_size=MATCH_BATCH, batch_format="numpy", concurrency=1 if embed else 2,
                        num_cpus=1 if embed else 0.5, num_gpus=1 if gpu else 0)
    progress(f"dedup: matching {total} tuning rows of {plan.train} against {len(index)} evaluation images "
             f"({plan.method}, threshold {plan.threshold:g}, reading {', '.join(columns)})")
    rate = Rate("dedup: matched", total, unit="rows", say=progress)
    for batch in ds.iter_batches(batch_format="numpy", batch_size=None):
        rows = batch["rows"]
        real = rows == 0
        result.add({k: batch[k][real] for k in ("key", "eval", "score", "hits")}, rows=int(rows.sum()))
        rate.add(int(rows.sum()))
    return result


def _count_rows(files: list[str]) -> int:
    """Rows of the shards, from their parquet footers."""
    total = 0
    for uri in files:
        fs, path = storage.resolve(uri)
        with fs.open_input_file(path) as f:
            total += pq.ParquetFile(f).metadata.num_rows
    return total


def _clear(folder: str) -> None:
    """An empty folder (the partial build of a local split, or an unfinished s3:// split)."""
    fs, path = storage.resolve(folder)
    if storage.is_remote(folder):
        with contextlib.suppress(FileNotFoundError):
            fs.delete_file(storage.resolve(storage.join(folder, MANIFEST))[1])  # first: the folder is now unfinished
        if storage.is_dir(folder):
            fs.delete_dir_contents(path)
    else:
        shutil.rmtree(path, ignore_errors=True)
    fs.create_dir(path, recursive=True)


def _write(files: list[str], out: str, removed: list[str], skipped: dict[str, int]) -> ShardStats:
    """Pass 2: every source shard without the removed rows, one Ray Data task per shard; then _stats.json."""
    results: list[dict[str, Any]] = []
    if files:
        ref = ray.put(pa.array(removed, pa.string()))
        work = [{"index": i, "file": f} for i, f in enumerate(files)]
        ds = ray.data.from_items(work, override_num_blocks=len(work))
        done = ds.map(_filter_shard, fn_kwargs={"removed": (ref,), "out": out}, num_cpus=0.5)
        results = sorted(done.take_all(), key=lambda r: int(r["index"]))
    kept = [r for r in results if r["file"]]
    return finish_folder(out, ShardStats(rows=sum(int(r["rows"]) for r in kept), shards=len(kept),
                                         bytes=sum(int(r["bytes"]) for r in kept), skipped=dict(skipped),
                                         files=[str(r["file"]) for r in kept]))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m litlab.cluster.dedup", description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="data root (local folder or s3:// prefix) holding the splits")
    p.add_argument("--train", default="train", help="the tuning split under root (default: train)")
    p.add_argument("--mode", required=True, choices=("test", "train+test"))
    p.add_argument("--evals", nargs="+", required=True, metavar="SPEC",
                   help="evaluation specs as in eval.evals, e.g. zeroshot/fmnist-test retrieval/emoji-heldout")
    p.add_argument("--method", default=None, help="exact | phash | embedding (default: data.dedup_method's)")
    p.add_argument("--threshold", type=float, default=0.0, help="0 = the method's default")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides: dict[str, Any] = {"data.root": args.root, "data.train": args.train, "data.dedup": args.mode,
                                 "data.dedup_threshold": args.threshold,
                                 "eval.evals": [e for spec in args.evals for e in spec.split(",") if e.strip()]}
    if args.method:
        overrides["data.dedup_method"] = args.method
    try:
        cfg = apply_overrides(RunConfig(), overrides)
        split, counts = ensure_dedup_split(cfg, progress=lambda s: print(s, flush=True))
    except (ConfigError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"split: {split}")
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
