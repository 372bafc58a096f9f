"""Source ``folder``: images with a caption file beside each (``cat.jpg`` + ``cat.txt``), in any sub-folders.

    python -m litlab.cluster.build_shards folder --input /data/pairs --out /data/shards/pairs

Images are the files with an image extension (``IMAGE_EXTENSIONS``, any case), sorted by path; a caption file
has the image's name with ``caption_suffix`` (default ``.txt``) in place of its extension. The whole caption
file is one caption, or with ``caption_per_line=true`` each non-blank line is one (several captions an image).
A ``.json`` beside the image (``meta_suffix``) adds its scalar fields to the record's meta. That makes
img2dataset's ``--output_format files`` output (``00000/000000012.jpg`` + ``.txt`` + ``.json``) a folder of
this kind. Keys: ``folder/<path without extension>``; meta: ``path`` (relative to the folder), width, height.
Skips: ``no_caption`` (no caption file), ``empty_caption``, ``caption_not_utf8``, ``corrupt_image``, ...

``items()`` lists the folder once (``storage.walk_files``: one listing, also on S3) and reads nothing else;
each ``load`` reads one image and its caption file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from litlab import storage
from litlab.data.shards import Record
from litlab.data.sources.base import SOURCES, SkipRecord
from litlab.data.sources.user_files import (
    clean_captions,
    decode_caption,
    make_record,
    parse_json_object,
    read_file,
    relative,
    require_folder,
)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


def is_image_file(name: str) -> bool:
    """True for a file name with an image extension (any case)."""
    return posixpath.splitext(name)[1].lower() in IMAGE_EXTENSIONS


class FolderItem(NamedTuple):
    path: str  # the image, relative to the folder, '/'-separated
    caption: str  # its caption file, relative; "" when there is none
    meta: str  # its json file, relative; "" when there is none


@SOURCES.register("folder")
@dataclass(frozen=True)
class ImageFolderSource:
    input: str  # the folder (local path or s3:// URI)
    caption_suffix: str = ".txt"
    meta_suffix: str = ".json"
    caption_per_line: bool = False

    def items(self) -> Iterator[FolderItem]:
        root = require_folder(self.input, "image folder")
        rels = [relative(root, f) for f in storage.walk_files(root)]
        if not any(is_image_file(r) for r in rels):
            raise ValueError(f"image folder {root} holds no image files ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        return self._pair(rels)

    def _pair(self, rels: Sequence[str]) -> Iterator[FolderItem]:
        present = set(rels)
        for rel in rels:
            if is_image_file(rel):
                stem = posixpath.splitext(rel)[0]
                caption, meta = stem + self.caption_suffix, stem + self.meta_suffix
                yield FolderItem(rel, caption if caption in present else "", meta if meta in present else "")

    def load(self, item: FolderItem) -> Record:
        if not item.caption:
            raise SkipRecord("no_caption", f"no {self.caption_suffix} beside {item.path}")
        text = decode_caption(read_file(storage.join(self.input, item.caption)), item.caption)
        captions = clean_captions(text.splitlines() if self.caption_per_line else [text])
        meta = parse_json_object(read_file(storage.join(self.input, item.meta))) if item.meta else {}
        data = read_file(storage.join(self.input, item.path))
        return make_record("folder/" + posixpath.splitext(item.path)[0], data, captions, {**meta, "path": item.path})
