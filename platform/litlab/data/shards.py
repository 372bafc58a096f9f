"""img2dataset-compatible parquet shards: columns key (string), jpg (binary), txt (string), json (string),
plus sha1 (string: ``hashing.content_hash``) and phash (int64: ``hashing.phash``) for deduplication.

A finished shard folder holds ``{prefix}-00000.parquet`` ... and ``_stats.json``, written last; a folder
without ``_stats.json`` is an interrupted write. Shards are written to a temporary name and renamed.
"""

from __future__ import annotations

import io
import itertools
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from litlab.data.hashing import content_hash, phash, to_signed

STATS = "_stats.json"
SCHEMA = pa.schema([("key", pa.string()), ("jpg", pa.binary()), ("txt", pa.string()), ("json", pa.string()),
                    ("sha1", pa.string()), ("phash", pa.int64())])


@dataclass(frozen=True)
class Record:
    key: str  # unique, stable (e.g. "emoji/1F600", "fmnist/train/00123")
    jpg: bytes  # encoded image bytes (JPEG; the column keeps img2dataset's name 'jpg')
    txt: str  # caption
    meta: dict  # JSON-serialisable extras (label, class, group, subgroup, ...)


@dataclass(frozen=True)
class ShardStats:
    rows: int
    shards: int
    bytes: int  # total size of the parquet files
    skipped: dict[str, int]  # reason -> count
    files: list[str]  # shard file names, relative to the folder


def encode_jpeg(img: Image.Image, quality: int = 95) -> bytes:
    """JPEG bytes of ``img`` converted to RGB (transparency composited on white)."""
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _skip_reason(record: Record, seen: set[str]) -> str | None:
    """Why ``record`` cannot be written, or None when it is fine."""
    if record.key in seen:
        return "duplicate_key"
    if not record.txt or not record.txt.strip():
        return "empty_caption"
    try:
        with Image.open(io.BytesIO(record.jpg)) as img:
            img.load()
    except Exception:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError, ... for bad bytes
        return "corrupt_image"
    return None


def _accepted(records: Iterable[Record], skipped: Counter[str]) -> Iterator[Record]:
    """The records that can be written; the others are counted in ``skipped`` by reason."""
    seen: set[str] = set()
    for record in records:
        reason = _skip_reason(record, seen)
        if reason:
            skipped[reason] += 1
            continue
        seen.add(record.key)
        yield record


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while chunk := list(itertools.islice(records, size)):
        yield chunk


def _prepare_folder(out: Path, prefix: str, overwrite: bool) -> None:
    """Create ``out``; refuse a finished folder unless ``overwrite``; clear old shards of this prefix."""
    stats = out / STATS
    if stats.exists() and not overwrite:
        raise FileExistsError(f"{out} already holds finished shards ({STATS}); pass overwrite=True "
                              f"or delete the folder to rebuild it")
    out.mkdir(parents=True, exist_ok=True)
    stats.unlink(missing_ok=True)  # first, so a crash below leaves an unfinished folder, never a stale one
    for old in [*out.glob(f"{prefix}-*.parquet"), *out.glob(f".{prefix}-*.parquet.tmp")]:
        old.unlink()


def _write_table(rows: list[Record], path: Path) -> int:
    """Write one shard atomically (temporary file, then rename); returns its size in bytes."""
    table = pa.Table.from_pydict({
        "key": [r.key for r in rows],
        "jpg": [r.jpg for r in rows],
        "txt": [r.txt for r in rows],
        "json": [json.dumps(r.meta, sort_keys=True) for r in rows],
        "sha1": [content_hash(r.jpg) for r in rows],
        "phash": [to_signed(phash(r.jpg)) for r in rows],
    }, schema=SCHEMA)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, row_group_size=len(rows))
    os.replace(tmp, path)
    return path.stat().st_size


def write_shards(records: Iterable[Record], out_dir: str | Path, *, rows_per_shard: int = 2000,
                 prefix: str = "part", overwrite: bool = False,
                 source_skipped: Mapping[str, int] | None = None) -> ShardStats:
    """Write ``records`` as parquet shards of ``rows_per_shard`` rows, skipping (and counting) bad ones.

    ``source_skipped`` is read once the records are exhausted and added to the skip counts, so a source
    can tally what it dropped while being iterated (e.g. emoji the font cannot draw).
    """
    if rows_per_shard < 1:
        raise ValueError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
    out = Path(out_dir)
    _prepare_folder(out, prefix, overwrite)
    skipped: Counter[str] = Counter()
    files: list[str] = []
    rows = size = 0
    for chunk in _chunks(_accepted(records, skipped), rows_per_shard):
        files.append(f"{prefix}-{len(files):05d}.parquet")
        size += _write_table(chunk, out / files[-1])
        rows += len(chunk)
    skipped.update(source_skipped or {})
    stats = ShardStats(rows=rows, shards=len(files), bytes=size, skipped=dict(sorted(skipped.items())),
                       files=files)
    _write_json_atomic(out / STATS, asdict(stats))
    return stats


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def read_stats(out_dir: str | Path) -> ShardStats:
    """The ``_stats.json`` of a finished shard folder."""
    path = Path(out_dir) / STATS
    if not path.is_file():
        raise FileNotFoundError(f"{out_dir} is not a finished shard folder: {STATS} is missing "
                                f"(build it with `python -m litlab.data.build --root ROOT`)")
    data = json.loads(path.read_text())
    return ShardStats(rows=int(data["rows"]), shards=int(data["shards"]), bytes=int(data["bytes"]),
                      skipped={str(k): int(v) for k, v in data["skipped"].items()},
                      files=[str(f) for f in data["files"]])


def shard_files(out_dir: str | Path) -> list[str]:
    """Sorted paths of the parquet files in ``out_dir``."""
    folder = Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"shard folder {folder} does not exist")
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no parquet shards in {folder}")
    return files


def iter_rows(out_dir: str | Path, columns: Sequence[str] | None = None, *,
              batch_size: int = 256) -> Iterator[dict[str, Any]]:
    """Stream rows as dicts, shard by shard, in file order (for small evaluation sets and tests)."""
    cols = list(columns) if columns is not None else None
    for path in shard_files(out_dir):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=cols):
            yield from batch.to_pylist()
