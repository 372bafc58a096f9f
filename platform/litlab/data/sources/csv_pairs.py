"""Source ``csv``: a csv or tsv file of (image path, caption) rows under a header row.

    python -m litlab.cluster.build_shards csv --input /data/cc/train.tsv --opt path_column=filepath \\
        --opt caption_column=title --out /data/shards/cc-train

Columns are found by name in the header (``path_column``, default "path"; ``caption_column``, default
"caption"); the other columns go to the record's meta. Paths are relative to ``images`` (default: the csv's
folder); absolute paths and paths with ``..`` that leave that folder are skipped as ``unsafe_path``.
Consecutive rows naming the same image become one record with all their captions (Flickr30k-style files list
an image once per caption); the same image again further down is a ``duplicate_key``. Keys:
``csv/<path without extension>``; meta: path, line (the csv line of the image's first row), width, height.
The delimiter is a tab for ``.tsv``/``.tab`` files and a comma otherwise, unless ``delimiter`` says
(``,`` ``;`` ``|`` ``tab``); ``.gz``/``.bz2`` files are decompressed on the fly.
Skips: ``missing_column`` (a row shorter than the header), ``empty_path``, ``empty_caption``,
``unsafe_path``, ``missing_file``, ``corrupt_image``.

``items()`` streams the file row by row (nothing is held but the current image's rows); each ``load`` reads
one image.
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from litlab import storage
from litlab.data.shards import Record
from litlab.data.sources.base import SOURCES, SkipRecord
from litlab.data.sources.user_files import clean_captions, make_record, read_file, require_file, safe_join

DELIMITERS = {",": ",", ";": ";", "|": "|", "tab": "\t", "\\t": "\t", "\t": "\t"}
COMPRESSED = (".gz", ".bz2")
Rows = Iterator[tuple[int, list[str]]]  # (line number, fields)


class CsvItem(NamedTuple):
    line: int  # the csv line of the image's first row (1 = the header)
    path: str  # as the csv says it, normalised ("./a.jpg" -> "a.jpg"; checked in load)
    captions: tuple[str, ...]  # raw, possibly blank
    extra: tuple[tuple[str, str], ...]  # the other columns of the first row
    problem: str = ""  # a skip reason found while reading the row ("" = none)


@SOURCES.register("csv")
@dataclass(frozen=True)
class CsvSource:
    input: str  # the csv/tsv file
    path_column: str = "path"
    caption_column: str = "caption"
    images: str = ""  # folder the paths are relative to; "" = the csv's folder
    delimiter: str = ""  # "" = tab for .tsv/.tab, else comma
    encoding: str = "utf-8-sig"  # utf-8, with or without a byte-order mark

    def items(self) -> Iterator[CsvItem]:
        require_file(self.input, "csv file")
        rows = self._rows(self._delimiter())
        _, header = next(rows, (0, []))
        if not header:
            raise ValueError(f"csv file {self.input} is empty: expected a header row naming its columns")
        header = [h.strip() for h in header]
        columns = (self._column(header, self.path_column, "path_column"),
                   self._column(header, self.caption_column, "caption_column"))
        return self._group(rows, header, columns)

    def load(self, item: CsvItem) -> Record:
        if item.problem:
            raise SkipRecord(item.problem, f"{self.input} line {item.line}")
        captions = clean_captions(item.captions)
        data = read_file(safe_join(self._images(), item.path))
        key = "csv/" + posixpath.splitext(item.path)[0]
        return make_record(key, data, captions, {**dict(item.extra), "path": item.path, "line": item.line})

    def _delimiter(self) -> str:
        if self.delimiter:
            if self.delimiter not in DELIMITERS:
                raise ValueError(f"delimiter={self.delimiter!r} is not one of: ',', ';', '|', 'tab' "
                                 f"(or leave it empty: tab for .tsv/.tab files, else comma)")
            return DELIMITERS[self.delimiter]
        name = next((self.input[: -len(s)] for s in COMPRESSED if self.input.endswith(s)), self.input)
        return "\t" if name.lower().endswith((".tsv", ".tab")) else ","

    def _images(self) -> str:
        if self.images:
            return self.images
        return posixpath.dirname(self.input) if storage.is_remote(self.input) else \
            os.path.dirname(storage.resolve(self.input)[1])

    def _rows(self, delimiter: str) -> Rows:
        fs, path = storage.resolve(self.input)
        with fs.open_input_stream(path) as raw:  # compression ("detect") from the file name
            reader = csv.reader(io.TextIOWrapper(raw, encoding=self.encoding, newline=""), delimiter=delimiter)
            try:
                for row in reader:
                    yield reader.line_num, row
            except UnicodeDecodeError as err:
                raise ValueError(f"{self.input} line {reader.line_num + 1} is not {self.encoding} ({err}); "
                                 f"pass encoding= (e.g. latin-1)") from None

    def _column(self, header: Sequence[str], name: str, option: str) -> int:
        if name in header:
            return header.index(name)
        other = "tab" if "\t" in header[0] else "comma" if "," in header[0] else ""
        hint = f"; the header looks {other}-separated: pass delimiter={other}" if len(header) == 1 and other else ""
        raise ValueError(f"{self.input} has no column {name!r} ({option}); its columns: "
                         f"{', '.join(map(repr, header))}{hint}")

    def _group(self, rows: Rows, header: Sequence[str], columns: tuple[int, int]) -> Iterator[CsvItem]:
        """One item per run of consecutive rows with the same path; broken rows are items of their own."""
        pending: CsvItem | None = None
        for line, row in rows:
            if not row:  # a blank line
                continue
            item = _row_item(line, row, header, columns)
            if pending and not (pending.problem or item.problem) and item.path == pending.path:
                pending = pending._replace(captions=pending.captions + item.captions)
                continue
            if pending:
                yield pending
            pending = item
        if pending:
            yield pending


def _row_item(line: int, row: Sequence[str], header: Sequence[str], columns: tuple[int, int]) -> CsvItem:
    path_at, caption_at = columns
    if len(row) <= max(columns):
        return CsvItem(line, "", (), (), "missing_column")
    path = row[path_at].strip()
    extra = tuple((h, v) for i, (h, v) in enumerate(zip(header, row, strict=False)) if i not in columns)
    if not path:
        return CsvItem(line, "", (), extra, "empty_path")
    return CsvItem(line, posixpath.normpath(path.replace("\\", "/")), (row[caption_at],), extra)
