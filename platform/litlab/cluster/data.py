"""Ray Data: stream parquet shards, decode/crop/tokenize in map_batches, split across Train workers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import ray.data
import ray.train

from litlab import storage
from litlab.cluster.skips import counted_preprocess
from litlab.config import RunConfig
from litlab.data.layout import SplitLayout, split_layout
from litlab.data.transforms import tokenize_batch, train_transform_kwargs
from litlab.errors import DataError
from litlab.sizing import DATA_CPUS

DECODE_CPUS = DATA_CPUS  # each decode task takes the CPU a trial keeps for its data (see quiet_context)
READ_MIN_BLOCKS = 8  # Ray's default (200) cut each 1000-row shard into 26 blocks of 38 rows
DECODE_CHUNK = 256  # rows decoded at a time inside a task (Ray merges them into one block: decode_block)
RUN_AHEAD_ROWS = 2 * DECODE_CHUNK  # decoded rows a training dataset may hold in flight (``ingest_options``)
STREAM_OBJECT_STORE = 256 << 20  # bytes of blocks a dataset may hold in flight: bounds the reader's run-ahead


def split_path(root: str, split: str) -> str:
    return storage.join(root, split)


def quiet_context() -> ray.data.DataContext:
    """This process's Ray Data context (copied into each dataset made after), as measured on Ray 2.60 with
    experiments/benchmarks/data_pipeline.py on 2 cores:

    - no progress bars (progress comes from rank 0);
    - a decode task's own exception, not a ``UserCodeException`` wrapping it: a DataError raised in a task then
      reaches the Train worker as a DataError, which fails the run without restarts (``litlab.cluster.not_faults``);
    - the V1 parquet reader: V2's ListFiles step held every execution for 7-12 s and read each file as one block;
    - blocks in flight capped at STREAM_OBJECT_STORE bytes: uncapped, the reader ran ahead of decoding and peak
      memory grew with the dataset (2.7 GiB at 10k rows, 4.9 GiB at 100k);
    - decode tasks of a whole CPU (DECODE_CPUS), read blocks of whole files (at least READ_MIN_BLOCKS of them) and
      no per-operator resource reservation: with 38-row blocks, quarter-CPU tasks and the reservation, one decode
      task ran at a time on average (0.62x a plain single-process loop); now both cores decode: 1.55-1.67x (4 runs,
      2026-11-24), 1.02x on 2026-12-06 when the plain loop's decoder had become ~1.7x faster (see the README).

    ``train_dataset`` gives the reader one task per file: left to itself, Ray's V1 reader dealt the 100 files of the
    benchmark's 100k rows into 19 tasks of 5000-6000 rows, each task held its whole input, and peak memory grew 1.3x
    from 10k to 100k rows; one file per task (and Arrow slices instead of one numpy copy of the block) keep it
    within 1.01-1.06x."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.raise_original_map_exception = True
    ctx.use_datasource_v2 = False
    ctx.read_op_min_num_blocks = READ_MIN_BLOCKS
    ctx.op_resource_reservation_enabled = False
    limits = ctx.execution_options.resource_limits
    ctx.execution_options.resource_limits = limits.copy(object_store_memory=STREAM_OBJECT_STORE)
    return ctx


def file_shuffle(cfg: RunConfig) -> ray.data.FileShuffleConfig:
    """The order files are read in: shuffled from ``train.seed``, anew each epoch (Ray mixes the epoch's execution
    index into the seed), so a replicate at another seed sees the data in another order and one seed the same."""
    return ray.data.FileShuffleConfig(seed=cfg.train.seed, reseed_after_execution=True)


def decode_block(block: pa.Table, *, columns: dict[str, str], split: str, chunk: int = DECODE_CHUNK,
                 **kwargs: Any) -> Iterator[dict[str, Any]]:
    """A whole read block through ``counted_preprocess``, ``chunk`` rows at a time.
    Taking whole blocks (no ``batch_size``) lets Ray fuse the read and the decode into one task where a file is read
    as one block (a split of fewer than READ_MIN_BLOCKS files is read with each file split in parts, and Ray 2.60
    then does not fuse: the demo's 4-file ``train/`` runs read and decode as two operators, 2026-12-06); a task
    holds the block's encoded bytes (as Arrow) and one chunk of Python objects and decoded images at a time. Ray
    merges the chunks a task yields into blocks of up to the dataset's target block size (128 MiB), so the decoded
    output leaves as one block per read block (up to 1000 rows of the demo's ``train/``, 12.6 MB at 64 px). A
    target of one chunk's bytes made 256-row blocks, but measured on a 7-cell pack (sweep.py --cells 7 --steps 20,
    alternated, 2 runs each, 2026-12-07) neither the 6 later cells' start-up (4.8 vs 5.0 s) nor the sweep's wall
    time (157 and 148 vs 158 and 153 s) moved beyond the noise: a later cell's start-up is mostly two fresh Ray
    processes, its split coordinator and then its decode worker (the previous cell's ended with its executor),
    ~1.5 s each.
    ``columns``: the layout's {column: name the decoder reads}; a block without one of them (a file unlike the
    split's first, which the parquet reader passes without a word) is a DataError."""
    missing = [c for c in columns if c not in block.column_names]
    if missing:
        raise DataError(f"a file of {split} has no column {', '.join(map(repr, missing))} (the split's first file "
                        f"has {', '.join(map(repr, columns))}); find it with `python experiments/design_grid.py "
                        f"--dry-run` (the preflight reads every file's columns) and rebuild or remove it")
    block = block.select(list(columns)).rename_columns(list(columns.values()))
    for start in range(0, block.num_rows, chunk):
        yield counted_preprocess(block.slice(start, chunk).to_pydict(), **kwargs)


def run_layout(cfg: RunConfig) -> SplitLayout:
    """The training split's layout for a run (its files listed, the columns chosen from the first file's footer)."""
    return split_layout(cfg.data.root, cfg.data.train, cfg.data.image_column, cfg.data.caption_column,
                        check_all=False)


def ingest_options(cfg: RunConfig) -> ray.data.ExecutionOptions:
    """The Train ingest's execution options: this process's (``quiet_context``) with the blocks in flight capped at
    RUN_AHEAD_ROWS decoded rows of this config (at most STREAM_OBJECT_STORE bytes).

    Measured with experiments/benchmarks/ray_overhead.py (64 px, 60 steps of 64 pairs, 1 worker, 2 cores): capped
    only in bytes, 256 MiB is ~20,000 decoded 64 px rows, more than the demo's 6,410-row split, so Ray Data was free
    to decode the whole epoch at once (60 steps use 3,840 rows) beside the training worker, whose steps ran at
    15-40 % of their later speed until steps 30-40 and at the plain loop's speed after. Capped at 512 rows (6 MiB at
    64 px, 77 MiB at 224 px), decoding keeps pace with the steps (steady from step 20 on)."""
    quiet_context()
    opts = ray.train.DataConfig.default_ingest_options()
    limit = min(STREAM_OBJECT_STORE, RUN_AHEAD_ROWS * row_bytes(cfg))
    opts.resource_limits = opts.resource_limits.copy(object_store_memory=limit)
    return opts


def row_bytes(cfg: RunConfig) -> int:
    """Bytes of one decoded training row: the (H, W, 3) uint8 image and the int64 ids and mask."""
    return cfg.image.size * cfg.image.size * 3 + 2 * 8 * cfg.text.max_len


def train_dataset(cfg: RunConfig, image_cache: dict[str, Any] | None = None,
                  counter: Any | None = None, layout: SplitLayout | None = None) -> ray.data.Dataset:
    """Rows {image (H, W, 3) uint8, ids (T,), mask (T,)} in seeded file order (``file_shuffle``), re-decoded
    each epoch; from ``image_cache`` (litlab.cluster.precompute) rows are {image: zimg features (F,) float32, ids,
    mask}.
    Dropped rows are reported to ``counter`` (litlab.cluster.skips). Local paths and s3:// URIs alike.
    ``layout``: the split's files and columns (``run_layout``, found here when not given)."""
    quiet_context()
    if image_cache is not None:
        ds = ray.data.read_parquet(image_cache["folder"], shuffle=file_shuffle(cfg)).select_columns(["zimg", "txt"])
        return ds.map_batches(tokenize_batch, fn_kwargs={"tokenizer": cfg.text.tokenizer, "max_len": cfg.text.max_len},
                              batch_format="numpy", batch_size=256, num_cpus=DECODE_CPUS)
    layout = layout or run_layout(cfg)
    files = list(layout.files)
    ds = ray.data.read_parquet(files, shuffle=file_shuffle(cfg), columns=list(layout.columns), num_cpus=DECODE_CPUS,
                               override_num_blocks=max(len(files), READ_MIN_BLOCKS))
    kwargs = {**train_transform_kwargs(cfg), "counter": counter, "columns": layout.columns, "split": layout.split}
    return ds.map_batches(decode_block, fn_kwargs=kwargs, batch_format="pyarrow", batch_size=None, num_cpus=DECODE_CPUS)


class FinishedShards:
    """Ends each finished cell's dataset before its pack's Train run ends (Ray Train ends them all only then).

    ``release(shard)``, on rank 0 once every worker has reported the cell's final checkpoint: the dataset's split
    coordinator stops its executor at once, and the coordinator actor of the cell before is killed. In the demo's
    21-cell pack every kept coordinator took ~1.3 % of a core even idle (/proc, 10 s), so later cells slowed; killing
    one at once left the Ray worker that had run its last read task spinning at ~80 % of a core (its task's owner
    gone while it still reported); a cell later, nothing of its executor is in flight. Ray Train's own shutdown at
    the end of the run then logs that it could not reach them (harmless). No-op for an iterator without one."""

    def __init__(self) -> None:
        self._stopped: Any = None

    def release(self, shard: Any) -> None:
        coord = getattr(shard, "_coord_actor", None)  # ray.data's StreamSplitDataIterator (Ray 2.60)
        if coord is None:
            return
        with contextlib.suppress(ray.exceptions.RayError, TimeoutError):  # the end of the run stops it too
            ray.get(coord.shutdown_executor.remote(), timeout=10)
        if self._stopped is not None:
            ray.kill(self._stopped)
        self._stopped = coord
