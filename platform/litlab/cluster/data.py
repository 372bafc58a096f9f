"""Ray Data: stream parquet shards, decode/crop/tokenize in map_batches, split across Train workers."""

from __future__ import annotations

import posixpath
from typing import Any

import ray.data

from litlab.config import RunConfig
from litlab.data.transforms import preprocess_batch, tokenize_batch

DECODE_CPUS = 0.25  # fractional, so decode tasks fit beside Train workers on a 2-core machine


def split_path(root: str, split: str) -> str:
    return posixpath.join(root.rstrip("/"), split)


def train_dataset(cfg: RunConfig, image_cache: dict[str, Any] | None = None) -> ray.data.Dataset:
    """Rows {image (H, W, 3) uint8, ids (T,), mask (T,)} in randomised block order, re-decoded each epoch;
    from ``image_cache`` (litlab.cluster.precompute) rows are {image: zimg features (F,) float32, ids, mask}."""
    ctx = ray.data.DataContext.get_current()  # copied into the dataset: quiet bars, progress comes from rank 0
    ctx.enable_progress_bars = False
    if image_cache is not None:
        ds = ray.data.read_parquet(image_cache["folder"], columns=["zimg", "txt"], shuffle="files")
        return ds.map_batches(tokenize_batch, fn_kwargs={"tokenizer": cfg.text.tokenizer, "max_len": cfg.text.max_len},
                              batch_format="numpy", batch_size=256, num_cpus=DECODE_CPUS)
    ds = ray.data.read_parquet(split_path(cfg.data.root, cfg.data.train), columns=["jpg", "txt"],
                               shuffle="files")
    kwargs = dict(size=cfg.image.size, tokenizer=cfg.text.tokenizer, max_len=cfg.text.max_len,
                  area_min=cfg.data.crop_area_min)
    return ds.map_batches(preprocess_batch, fn_kwargs=kwargs, batch_format="numpy", batch_size=256,
                          num_cpus=DECODE_CPUS)
