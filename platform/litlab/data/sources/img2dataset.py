"""Source ``img2dataset``: img2dataset's ``--output_format parquet`` output, read as it is.

    python -m litlab.cluster.build_shards img2dataset --input s3://bucket/cc3m-parquet --out s3://bucket/cc3m-shards

What img2dataset writes there (its ParquetSampleWriter): ``00000.parquet``, ``00001.parquet``, ... whose columns
are the input columns it was told to keep (``caption`` when given ``--caption_col``, ``url``, any
``--save_additional_columns``), then key, status, error_message, width, height, original_width,
original_height (exif, sha256 when asked), and last ``jpg``: the encoded image, null on the rows that failed
(status ``failed_to_download`` / ``failed_to_resize``, which are the skip reasons here). There is no ``txt``
column in that output; other tools (and litlab's own shards) write one, so the caption column is
``caption_column`` or, by default, the first of ``caption``, ``txt`` the file has; a ``txts`` list column (litlab
shards) gives several captions. ``input``: one .parquet file or a folder searched recursively.
Keys: ``img2dataset/<file path without .parquet>/<key column>`` (the row number when there is no key column);
meta: the row's other scalar columns (url, key, status, similarity, ...; not exif), width, height.

Items and loading (why it is fast): an item is a row's address, (file, file version, row group, row), five
small fields; ``items()`` reads each file's footer only. ``load`` reads a whole row group the first time one of
its rows is asked for and keeps the last ``CACHED_GROUPS`` in a per-process LRU cache keyed by (file, version,
group), so a builder that loads items in order (the one-process builder, and every Ray task, which gets a run
of consecutive items) reads each row group once. img2dataset writes groups of 100 rows (its write buffer),
so memory stays at a few hundred images; a file written as one huge row group costs that group's size.
The version (size and mtime) in the key means a rewritten file is never served from the cache.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pyarrow.parquet as pq

from litlab import storage
from litlab.data.shards import Record
from litlab.data.sources.base import SOURCES, SkipRecord
from litlab.data.sources.user_files import (
    clean_captions,
    file_version,
    input_files,
    make_record,
    parse_json_object,
    scalar_fields,
)

CAPTION_COLUMNS = ("caption", "txt")  # img2dataset's, then other writers'
NOT_META = frozenset({"caption", "txt", "txts", "json", "sha1", "phash", "exif"})
CACHED_GROUPS = 4


class ParquetRow(NamedTuple):
    uri: str  # the parquet file
    name: str  # its path relative to ``input``, without .parquet
    version: str  # its size and mtime when listed
    group: int  # row group
    row: int  # row within the group
    index: int  # row within the file


@functools.lru_cache(maxsize=CACHED_GROUPS)
def read_row_group(uri: str, version: str, group: int) -> list[dict[str, Any]]:
    """The rows of one row group as dicts (``version`` is part of the cache key only)."""
    fs, path = storage.resolve(uri)
    with fs.open_input_file(path) as f:
        return pq.ParquetFile(f).read_row_group(group).to_pylist()


def caption_column(columns: Iterable[str], wanted: str, uri: str) -> str:
    """``wanted``, or the first of CAPTION_COLUMNS present; ValueError listing the columns otherwise."""
    names = list(columns)
    choices = (wanted,) if wanted else CAPTION_COLUMNS
    found = next((c for c in choices if c in names), None)
    if found is None:
        raise ValueError(f"{uri} has no caption column {' or '.join(map(repr, choices))}; its columns: "
                         f"{', '.join(names)}; pass caption_column=")
    return found


@SOURCES.register("img2dataset")
@dataclass(frozen=True)
class Img2DatasetSource:
    input: str  # a .parquet file or a folder of them (img2dataset's output folder)
    caption_column: str = ""  # "" = the first of caption, txt
    image_column: str = "jpg"

    def items(self) -> Iterator[ParquetRow]:
        return self._rows(input_files(self.input, (".parquet",), "img2dataset output"))

    def _rows(self, files: Sequence[tuple[str, str]]) -> Iterator[ParquetRow]:
        for uri, name in files:
            fs, path = storage.resolve(uri)
            with fs.open_input_file(path) as f:
                meta = pq.ParquetFile(f).metadata
            self._check(meta.schema.names, uri)
            version, index = file_version(uri), 0
            for group in range(meta.num_row_groups):
                for row in range(meta.row_group(group).num_rows):
                    yield ParquetRow(uri, name, version, group, row, index)
                    index += 1

    def _check(self, columns: Sequence[str], uri: str) -> None:
        if self.image_column not in columns:
            raise ValueError(f"{uri} has no image column {self.image_column!r} (its columns: {', '.join(columns)}). "
                             f"img2dataset stores images in parquet only with --output_format parquet; read its "
                             f"webdataset output (.tar) with the 'webdataset' source, its files output with "
                             f"'folder'; or pass image_column=")
        caption_column(columns, self.caption_column, uri)

    def load(self, item: ParquetRow) -> Record:
        row = read_row_group(item.uri, item.version, item.group)[item.row]
        caption = caption_column(row, self.caption_column, item.uri)
        data = row.get(self.image_column)
        if data is None:
            status = row.get("status")
            reason = status if isinstance(status, str) and status.startswith("failed_") else "no_image"
            raise SkipRecord(reason, f"{item.uri} row {item.index}: {row.get('error_message') or 'no image'}")
        captions = clean_captions(row.get("txts") or [row.get(caption)])
        meta = {**parse_json_object(row.get("json")),
                **scalar_fields(row, NOT_META | {self.image_column, caption}), "file": item.name}
        key = row.get("key") or f"{item.index:09d}"
        return make_record(f"img2dataset/{item.name}/{key}", bytes(data), captions, meta)
