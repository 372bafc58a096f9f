"""img2dataset-compatible parquet shards: columns key (string), jpg (binary), txt (string), json (string),
plus txts (list<string>: every caption of the image, txt being the first), sha1 (string:
``hashing.content_hash``) and phash (int64: ``hashing.phash``) for deduplication.

A finished shard folder (a local path or an ``s3://`` URI) holds ``{prefix}-00000.parquet`` ... and
``_stats.json``, written last; a folder without ``_stats.json`` is an interrupted write. Local shards are
written to a temporary name and renamed; S3 objects appear whole or not at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import posixpath
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from PIL import Image

from litlab import storage
from litlab.data.hashing import content_hash, phash, to_signed
from litlab.data.transforms import BadImage, decode, to_rgb

STATS = "_stats.json"
T = TypeVar("T")
ROW_GROUP = 256  # rows per parquet row group: readers stream a shard in pieces of this size
SCHEMA = pa.schema([("key", pa.string()), ("jpg", pa.binary()), ("txt", pa.string()), ("json", pa.string()),
                    ("txts", pa.list_(pa.string())), ("sha1", pa.string()), ("phash", pa.int64())])


@dataclass(frozen=True)
class Record:
    key: str  # unique, stable (e.g. "emoji/1F600", "fmnist/train/00123")
    jpg: bytes  # encoded image bytes (JPEG; the column keeps img2dataset's name 'jpg')
    txt: str  # caption (the first of ``captions`` when there are several)
    meta: dict  # JSON-serialisable extras (label, class, group, subgroup, ...)
    captions: tuple[str, ...] = ()  # every caption of the image (COCO has ~5); empty = just ``txt``

    def all_captions(self) -> list[str]:
        """The non-blank captions, ``txt`` first when ``captions`` is empty."""
        return [c.strip() for c in (self.captions or (self.txt,)) if c and c.strip()]


@dataclass(frozen=True)
class ShardStats:
    rows: int
    shards: int
    bytes: int  # total size of the parquet files
    skipped: dict[str, int]  # reason -> count
    files: list[str]  # shard file names, relative to the folder
    recipe: dict[str, Any] = dataclasses.field(default_factory=dict)  # what built it (data.recipes); {}: unknown

    def skipped_text(self) -> str:
        """``reason=count, ...`` or ``none``, for progress lines."""
        return ", ".join(f"{k}={v}" for k, v in self.skipped.items()) or "none"


def encode_jpeg(img: Image.Image, quality: int = 95) -> bytes:
    """JPEG bytes of ``img`` as 8-bit RGB (``transforms.to_rgb``: transparency on white, wide modes scaled)."""
    buf = io.BytesIO()
    to_rgb(img).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@dataclass(frozen=True)
class Row:
    """An accepted record with its hashes, computed from the one decode that also validated it."""
    record: Record
    sha1: str
    phash: int  # signed int64


def _check(record: Record, seen: set[str]) -> Row:
    """The record as a Row, or BadImage with the reason it cannot be written."""
    if record.key in seen:
        raise BadImage("duplicate_key", record.key)
    if not record.all_captions():
        raise BadImage("empty_caption", record.key)
    rgb = decode(record.jpg)  # the training decoder: what it refuses, the shards never hold
    return Row(record, content_hash(rgb), to_signed(phash(rgb)))


def accepted_rows(records: Iterable[Record], skipped: Counter[str]) -> Iterator[Row]:
    """The records that can be written, as Rows; the others are counted in ``skipped`` by reason."""
    seen: set[str] = set()
    for record in records:
        try:
            row = _check(record, seen)
        except BadImage as bad:
            skipped[bad.reason] += 1
            continue
        seen.add(record.key)
        yield row


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    items = iter(items)
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def prepare_folder(out: str, prefix: str = "part", overwrite: bool = False) -> None:
    """Create ``out``; refuse a finished folder unless ``overwrite``; clear old shards of this prefix."""
    stats = storage.join(out, STATS)
    if storage.exists(stats) and not overwrite:
        raise FileExistsError(f"{out} already holds finished shards ({STATS}); to rebuild it pass --overwrite "
                              f"(overwrite=True from Python) or delete the folder")
    fs, path = storage.resolve(out)
    fs.create_dir(path, recursive=True)
    if storage.exists(stats):  # first, so a crash below leaves an unfinished folder, never a stale one
        fs.delete_file(storage.resolve(stats)[1])
    for info in fs.get_file_info(pafs.FileSelector(path)):
        name = posixpath.basename(info.path)
        old_shard = name.startswith(f"{prefix}-") and name.endswith((".parquet", ".parquet.tmp"))
        if info.type == pafs.FileType.File and (old_shard or name.startswith(f".{prefix}-")):  # .x: temporaries
            fs.delete_file(info.path)


def shard_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:05d}.parquet"


def write_table(rows: list[Row], uri: str) -> int:
    """Write one shard atomically (row groups of ROW_GROUP rows); returns its size in bytes."""
    records = [r.record for r in rows]
    table = pa.Table.from_pydict({
        "key": [r.key for r in records],
        "jpg": [r.jpg for r in records],
        "txt": [r.all_captions()[0] for r in records],
        "json": [json.dumps(r.meta, sort_keys=True) for r in records],
        "txts": [r.all_captions() for r in records],
        "sha1": [r.sha1 for r in rows],
        "phash": [r.phash for r in rows],
    }, schema=SCHEMA)
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf, row_group_size=ROW_GROUP)
    data = buf.getvalue().to_pybytes()
    storage.write_bytes_atomic(uri, data)
    return len(data)


def write_shards(records: Iterable[Record], out_dir: str | Path, *, rows_per_shard: int = 2000,
                 prefix: str = "part", overwrite: bool = False,
                 source_skipped: Mapping[str, int] | None = None,
                 recipe: Mapping[str, Any] | None = None) -> ShardStats:
    """Write ``records`` as parquet shards of ``rows_per_shard`` rows, skipping (and counting) bad ones.

    ``out_dir`` is a local path or an ``s3://`` URI. ``source_skipped`` is read once the records are exhausted
    and added to the skip counts, so a source can tally what it dropped while being iterated. ``recipe`` (plain
    JSON values) is recorded in ``_stats.json``.
    """
    if rows_per_shard < 1:
        raise ValueError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
    out = str(out_dir)
    with removed_on_failure(out):
        prepare_folder(out, prefix, overwrite)
        skipped: Counter[str] = Counter()
        files: list[str] = []
        rows = size = 0
        for chunk in chunks(accepted_rows(records, skipped), rows_per_shard):
            files.append(shard_name(prefix, len(files)))
            size += write_table(chunk, storage.join(out, files[-1]))
            rows += len(chunk)
        skipped.update(source_skipped or {})
        return finish_folder(out, ShardStats(rows=rows, shards=len(files), bytes=size, skipped=dict(skipped),
                                             files=files, recipe=dict(recipe or {})))


@contextlib.contextmanager
def removed_on_failure(out: str) -> Iterator[None]:
    """A folder the build created is removed again when the build fails before writing any shard (a bad input
    would otherwise leave an empty folder behind); shards already written stay, in a folder without ``_stats.json``
    (unfinished), and a folder that existed before is left as the failure found it."""
    existed = storage.exists(out)
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            if not existed and storage.exists(out) and not storage.list_files(out, recursive=True):
                fs, path = storage.resolve(out)
                fs.delete_dir(path)
        raise


def finish_folder(out: str, stats: ShardStats) -> ShardStats:
    """Write ``_stats.json`` (skip reasons sorted), which marks the folder finished; returns the stats."""
    stats = dataclasses.replace(stats, skipped=dict(sorted(stats.skipped.items())))
    storage.write_bytes_atomic(storage.join(out, STATS), (json.dumps(asdict(stats), indent=2) + "\n").encode())
    return stats


def read_stats(out_dir: str | Path) -> ShardStats:
    """The ``_stats.json`` of a finished shard folder."""
    path = storage.join(str(out_dir), STATS)
    if not storage.is_file(path):
        raise FileNotFoundError(f"{out_dir} is not a finished shard folder: {STATS} is missing "
                                f"(build it with `python -m litlab.data.build --root ROOT` or "
                                f"`python -m litlab.cluster.build_shards SOURCE --input ... --out {out_dir}`)")
    data = json.loads(storage.read_text(path))
    return ShardStats(rows=int(data["rows"]), shards=int(data["shards"]), bytes=int(data["bytes"]),
                      skipped={str(k): int(v) for k, v in data["skipped"].items()},
                      files=[str(f) for f in data["files"]], recipe=dict(data.get("recipe") or {}))


def shard_files(out_dir: str | Path) -> list[str]:
    """Sorted paths (or URIs) of the parquet files in ``out_dir``."""
    out = str(out_dir)
    if not storage.is_dir(out):
        raise FileNotFoundError(f"shard folder {out} does not exist")
    files = storage.list_files(out, (".parquet",))
    if not files:
        raise FileNotFoundError(f"no parquet shards in {out}")
    return files


def iter_rows(out_dir: str | Path, columns: Sequence[str] | None = None, *,
              batch_size: int = 256) -> Iterator[dict[str, Any]]:
    """Stream rows as dicts, shard by shard, in file order (for small evaluation sets and tests)."""
    cols = list(columns) if columns is not None else None
    for uri in shard_files(out_dir):
        fs, path = storage.resolve(uri)
        with fs.open_input_file(path) as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=cols):
                yield from batch.to_pylist()


def verify_split(out_dir: str | Path) -> list[str]:
    """The shard files of a split, checked before a run reads them: every file ``_stats.json`` lists must
    exist (a missing one is named); a folder without ``_stats.json`` (e.g. img2dataset output used as it is)
    needs at least one parquet file."""
    out = str(out_dir)
    if not storage.is_file(storage.join(out, STATS)):
        return shard_files(out)
    listed = [storage.join(out, name) for name in read_stats(out).files]
    present = set(storage.list_files(out, (".parquet",)))
    missing = [f for f in listed if f not in present]
    if missing:
        raise FileNotFoundError(f"{len(missing)} shard(s) of {out} listed in {STATS} are missing: "
                                f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; "
                                f"rebuild the split or restore the files")
    if not listed:
        raise FileNotFoundError(f"{out} holds no shards ({STATS} lists none)")
    return listed


def has_column(files: Sequence[str], name: str) -> bool:
    """Whether the first shard's schema has column ``name``."""
    fs, path = storage.resolve(files[0])
    with fs.open_input_file(path) as f:
        return name in pq.read_schema(f).names
