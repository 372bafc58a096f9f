"""Source ``webdataset``: webdataset tar shards, e.g. img2dataset's ``--output_format webdataset`` output.

    python -m litlab.cluster.build_shards webdataset --input /data/laion-subset --out /data/shards/laion

A shard ``00000.tar`` holds samples as consecutive members sharing a key: ``000000012.jpg``,
``000000012.txt``, ``000000012.json`` (webdataset's rule: the key is the member's path up to the first dot of
its base name, the rest is the extension). The image is the first of ``image_ext`` (default: jpg, jpeg, png,
webp) the sample has, the caption its ``caption_ext`` member (default txt), and the scalar fields of its
``json`` member go to the record's meta (img2dataset: url, status, width, original_width, ...). ``input``: one
.tar or a folder searched recursively (img2dataset's ``.parquet``/``_stats.json`` beside the tars are not read).
Keys: ``webdataset/<tar path without .tar>/<sample key>``; meta: tar, key, width, height.
Skips: ``no_caption``, ``no_image``, ``empty_caption``, ``caption_not_utf8``, ``corrupt_image``, ``corrupt_tar``
(a file that is not a tar, or a member cut short, counts once; the other tars go on).

Items and loading: an item is (tar, version, byte offset of the sample's first header, key). ``items()``
reads the tar headers only, seeking over the data (through a 1 MiB read buffer, so on S3 a tar is fetched in
large ranges, not one request per member). ``load`` seeks to the offset in a reader kept open per process
(an LRU cache of ``CACHED_TARS`` readers keyed by tar and version) and reads just that sample's members; in
item order the seeks move forward through the same buffer, so a tar is read about once, by any number of
tasks, each from its own first item on.
"""

from __future__ import annotations

import functools
import io
import posixpath
import tarfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from litlab import storage
from litlab.data.shards import Record
from litlab.data.sources.base import SOURCES, SkipRecord
from litlab.data.sources.user_files import (
    clean_captions,
    decode_caption,
    file_version,
    input_files,
    make_record,
    parse_json_object,
)

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")
BUFFER = 1 << 20
CACHED_TARS = 4


class TarSample(NamedTuple):
    uri: str  # the tar
    name: str  # its path relative to ``input``, without .tar
    version: str  # its size and mtime when listed
    offset: int  # byte offset of the header of the sample's first member
    key: str  # the sample's key


def split_member(name: str) -> tuple[str, str] | None:
    """(key, extension) of a member name by webdataset's rule; None for names without an extension."""
    folder, base = posixpath.split(name.removeprefix("./"))
    if "." not in base.lstrip("."):
        return None
    stem, ext = base.split(".", 1)
    return posixpath.join(folder, stem), ext.lower()


def _open(uri: str) -> io.BufferedReader:
    fs, path = storage.resolve(uri)
    return io.BufferedReader(fs.open_input_file(path), buffer_size=BUFFER)


def scan_tar(uri: str) -> Iterator[tuple[int, str]]:
    """(header offset, key) of each sample of a tar, in order, from its headers alone."""
    last = None
    with _open(uri) as f, tarfile.open(fileobj=f, mode="r:") as tar:
        while (info := tar.next()) is not None:
            tar.members.clear()  # TarFile keeps every header otherwise
            parts = split_member(info.name) if info.isfile() else None
            if parts and parts[0] != last:
                last = parts[0]
                yield info.offset, last


@functools.lru_cache(maxsize=CACHED_TARS)
def _reader(uri: str, version: str) -> tuple[io.BufferedReader, threading.Lock]:
    """A tar kept open for ``read_sample`` (``version`` is part of the cache key only)."""
    return _open(uri), threading.Lock()


def read_sample(sample: TarSample) -> dict[str, bytes]:
    """Extension -> bytes of the members of one sample."""
    f, lock = _reader(sample.uri, sample.version)
    members: dict[str, bytes] = {}
    with lock:
        f.seek(sample.offset)
        with tarfile.open(fileobj=f, mode="r:") as tar:  # reads from the current position on; f stays open
            for info in tar:
                parts = split_member(info.name) if info.isfile() else None
                if parts is None:
                    continue
                if parts[0] != sample.key:
                    break
                members[parts[1]] = tar.extractfile(info).read()
    return members


@SOURCES.register("webdataset")
@dataclass(frozen=True)
class WebDatasetSource:
    input: str  # a .tar or a folder of them
    caption_ext: str = "txt"
    image_ext: str = ""  # "" = the first of jpg, jpeg, png, webp; or a comma-separated list

    def items(self) -> Iterator[TarSample]:
        return self._samples(input_files(self.input, (".tar",), "webdataset folder"))

    def _samples(self, tars: Sequence[tuple[str, str]]) -> Iterator[TarSample]:
        for uri, name in tars:
            version = file_version(uri)
            try:
                for offset, key in scan_tar(uri):
                    yield TarSample(uri, name, version, offset, key)
            except tarfile.TarError:  # not a tar at all, or cut short: one counted skip, the other tars go on
                yield TarSample(uri, name, version, -1, "")

    def load(self, item: TarSample) -> Record:
        if item.offset < 0:
            raise SkipRecord("corrupt_tar", f"{item.uri} is not a readable tar")
        try:
            members = read_sample(item)
        except (tarfile.TarError, OSError) as err:
            raise SkipRecord("corrupt_tar", f"{item.uri} at {item.offset}: {err}") from None
        where = f"{item.uri}: {item.key}"
        if self.caption_ext not in members:
            raise SkipRecord("no_caption", where)
        captions = clean_captions([decode_caption(members[self.caption_ext], where)])
        exts = tuple(e.strip().lower() for e in self.image_ext.split(",")) if self.image_ext else IMAGE_EXTS
        image = next((e for e in exts if e in members), None)
        if image is None:
            raise SkipRecord("no_image", f"{where} has {', '.join(sorted(members))}, none of {', '.join(exts)}")
        meta = {**parse_json_object(members.get("json")), "tar": item.name, "key": item.key}
        return make_record(f"webdataset/{item.name}/{item.key}", members[image], captions, meta)
