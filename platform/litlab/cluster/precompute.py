"""Precompute a locked image tower's embeddings of the training split once, with Ray Data, beside the shards.

Layout: ``<data.root>/<data.train>.zimg/<arch>-<size>px-<weights sha1[:12]>/`` holds parquet files with columns
``key``, ``txt``, ``zimg`` (F float32) and ``_MANIFEST.json`` (written last: its presence means complete). Every
trial and sweep with the same tower, resolution and split reuses it; the key changes with any of them. Rows that
training would skip (empty caption, undecodable image) are skipped here too, with the same rules.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import ray
import ray.data
import torch

from litlab.cluster import console
from litlab.cluster.data import quiet_context, run_layout, split_path
from litlab.config import RunConfig
from litlab.data.transforms import decode_rows
from litlab.evaluators.cache import weights_sha1
from litlab.models.image_towers import build_image_tower
from litlab.progress import Rate

MANIFEST = "_MANIFEST.json"


class Embedder:
    """A Ray Data actor: loads the locked tower once, embeds batches of {key, jpg, txt} into {key, txt, zimg}."""

    def __init__(self, arch: str, size: int, threads: int) -> None:
        torch.set_num_threads(threads)
        self.size = size
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tower = build_image_tower(arch, pretrained=True).eval().to(self.device)

    @torch.no_grad()
    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        kept, images, texts = decode_rows(batch["jpg"], batch["txt"], self.size,  # the rows training would keep
                                          statuses=batch.get("status"))
        keys = [str(batch["key"][i]) for i in kept]
        if not images:
            return {"key": np.array([], object), "txt": np.array([], object), "zimg": np.zeros((0, 1), np.float32)}
        zimg = self.tower(torch.from_numpy(np.stack(images)).to(self.device)).float().cpu().numpy()  # (B, F)
        return {"key": np.array(keys, object), "txt": np.array(texts, object), "zimg": zimg}


def tower_key(cfg: RunConfig) -> tuple[str, int]:
    """(cache folder name, feature size F) for the config's locked image tower."""
    tower = build_image_tower(cfg.image.arch, pretrained=True)
    return f"{cfg.image.arch}-{cfg.image.size}px-{weights_sha1(tower).hexdigest()[:12]}", tower.feature_dim


def ensure_image_cache(cfg: RunConfig) -> dict[str, Any]:
    """The cache folder of this config's tower (built now if missing, once even with concurrent trials)."""
    if "://" in cfg.data.root:
        raise ValueError(f"train.precompute needs a local data.root for its cache; got {cfg.data.root!r}")
    key, dim = tower_key(cfg)
    folder = Path(split_path(cfg.data.root, cfg.data.train + ".zimg")) / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second trial waits here, then finds the manifest
        if not (folder / MANIFEST).is_file():
            _build(cfg, folder, dim)
    return {**json.loads((folder / MANIFEST).read_text()), "folder": str(folder)}


def _build(cfg: RunConfig, folder: Path, dim: int) -> None:
    tic = time.perf_counter()
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    gpu = ray.cluster_resources().get("GPU", 0) >= 1
    quiet_context()
    layout = run_layout(cfg)  # litlab shards or img2dataset output; the preflight checked it has a key column
    columns = {"key": "key", **{c: name for c, name in layout.columns.items() if name != "txts"}}
    ds = ray.data.read_parquet(list(layout.files), columns=list(columns)).rename_columns(columns)
    ds = ds.map_batches(Embedder, fn_constructor_kwargs={"arch": cfg.image.arch, "size": cfg.image.size,
                                                         "threads": 1 if gpu else 2},
                        batch_size=128, batch_format="numpy", concurrency=1,
                        num_gpus=1 if gpu else 0, num_cpus=1)
    with _watching(tmp, _rows(layout.files)):
        ds.write_parquet(str(tmp))
    rows = ray.data.read_parquet(str(tmp)).select_columns(["key"]).count()
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    manifest = {"rows": rows, "dim": dim, "arch": cfg.image.arch, "size": cfg.image.size,
                "seconds": round(time.perf_counter() - tic, 1)}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    console.say(f"precomputed {rows} image embeddings ({cfg.image.arch}, {cfg.image.size} px) into {folder} "
                f"in {manifest['seconds']} s")


def _rows(files: Iterable[str]) -> int:
    """Rows of local parquet files, from their footers."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _footer_rows(path: Path) -> int:
    """A written file's rows; 0 for one still being written (no footer yet)."""
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - pyarrow's error for a file without its footer
        return 0


@contextlib.contextmanager
def _watching(tmp: Path, total: int, every_s: float = 10.0) -> Iterator[None]:
    """While Ray Data writes the cache: every ``every_s``, the rows written so far (the finished files' footers),
    their rate and an ETA, on the sweep's console."""
    rate, stop = Rate("embedding cache", total, unit="images", every_s=0, say=console.say), threading.Event()

    def watch() -> None:
        while not stop.wait(every_s):
            rate.n = sum(_footer_rows(f) for f in tmp.glob("*.parquet"))
            rate.add(0)

    thread = threading.Thread(target=watch, name="litlab-precompute-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
