"""Ray Data: stream parquet shards, decode/crop/tokenize in map_batches, split across Train workers."""

from __future__ import annotations

from typing import Any

import ray.data

from litlab import storage
from litlab.cluster.skips import counted_preprocess
from litlab.config import RunConfig
from litlab.data.shards import has_column, verify_split
from litlab.data.transforms import tokenize_batch

DECODE_CPUS = 0.25  # fractional, so decode tasks fit beside Train workers on a 2-core machine
STREAM_OBJECT_STORE = 512 << 20  # bytes of blocks a dataset may hold in flight: keeps memory flat as data grows


def split_path(root: str, split: str) -> str:
    return storage.join(root, split)


def quiet_context() -> ray.data.DataContext:
    """This process's Ray Data context (copied into each dataset made after): no progress bars (progress comes
    from rank 0), and the V1 parquet reader. Measured on Ray 2.60: the V2 reader's ListFiles step holds every
    execution for 7-12 s (its thread pool's shutdown waits out join timeouts) and reads each file as one block,
    so a 6-file split took 8 s to stream its captions against 0.4 s for V1, which also splits files into blocks
    that decode tasks share. Blocks in flight are capped at STREAM_OBJECT_STORE bytes: without a cap the reader
    ran ahead of decoding and peak memory grew with the dataset (2.7 GiB at 10k rows, 4.9 GiB at 100k)."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.use_datasource_v2 = False
    limits = ctx.execution_options.resource_limits
    ctx.execution_options.resource_limits = limits.copy(object_store_memory=STREAM_OBJECT_STORE)
    return ctx


def train_dataset(cfg: RunConfig, image_cache: dict[str, Any] | None = None,
                  counter: Any | None = None, files: list[str] | None = None) -> ray.data.Dataset:
    """Rows {image (H, W, 3) uint8, ids (T,), mask (T,)} in randomised block order, re-decoded each epoch;
    from ``image_cache`` (litlab.cluster.precompute) rows are {image: zimg features (F,) float32, ids, mask}.
    Dropped rows are reported to ``counter`` (litlab.cluster.skips). Local paths and s3:// URIs alike.
    ``files``: the split's shards as ``verify_split`` returned them (listed and checked here when not given)."""
    quiet_context()
    if image_cache is not None:
        ds = ray.data.read_parquet(image_cache["folder"], shuffle="files").select_columns(["zimg", "txt"])
        return ds.map_batches(tokenize_batch, fn_kwargs={"tokenizer": cfg.text.tokenizer, "max_len": cfg.text.max_len},
                              batch_format="numpy", batch_size=256, num_cpus=DECODE_CPUS)
    files = files if files is not None else verify_split(split_path(cfg.data.root, cfg.data.train))
    columns = ["jpg", "txt", "txts"] if has_column(files, "txts") else ["jpg", "txt"]
    ds = ray.data.read_parquet(files, shuffle="files").select_columns(columns)
    kwargs = dict(size=cfg.image.size, tokenizer=cfg.text.tokenizer, max_len=cfg.text.max_len,
                  area_min=cfg.data.crop_area_min, counter=counter)
    return ds.map_batches(counted_preprocess, fn_kwargs=kwargs, batch_format="numpy", batch_size=256,
                          num_cpus=DECODE_CPUS)
