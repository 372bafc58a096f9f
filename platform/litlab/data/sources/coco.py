"""Source ``coco``: a COCO captions json (``captions_train2017.json``) and its images folder.

    python -m litlab.cluster.build_shards coco --input /data/coco/annotations/captions_train2017.json \\
        --opt images=/data/coco/train2017 --out /data/shards/coco-train

The json has ``images`` [{id, file_name, width, height}, ...] and ``annotations`` [{id, image_id, caption},
...]; Flickr30k converted to this format reads the same. ``input`` is the json or a folder holding exactly one
``captions_*.json`` (directly or in ``annotations/``). ``images`` defaults to COCO's layout
(``annotations/captions_train2017.json`` -> ``train2017/``; also tried: ``images/`` beside the json or its
folder). One record per image, in image id order, with all its captions (annotation id order; ~5 in COCO):
key ``coco/<id, 12 digits>`` (the digits of COCO's file names), meta image_id, file_name, width, height.
Skips: ``no_caption`` (an image no annotation names), ``empty_caption``, ``unsafe_path`` (a file_name that
leaves the images folder), ``missing_file``, ``corrupt_image``.

The json is parsed whole (COCO train: 118k images, 590k captions, ~90 MB of Python objects); the items carry
each image's captions, so ``load`` reads only its image. The parsing here is also the evaluation set
``coco-captions``'s (``litlab.evaluators.sets.coco``).
"""

from __future__ import annotations

import json
import posixpath
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from litlab import storage
from litlab.data.shards import Record
from litlab.data.sources.base import SOURCES, SkipRecord
from litlab.data.sources.user_files import clean_captions, make_record, read_file, require_folder, safe_join

Images = list[dict[str, Any]]  # the json's image entries, sorted by id
Captions = dict[int, list[str]]  # image id -> its captions, in annotation order


def find_captions_json(root: str) -> str:
    """``root`` when it is a file, else the single captions_*.json in it or in its annotations/ folder."""
    if storage.is_file(root):
        return root
    if not storage.is_dir(root):
        raise FileNotFoundError(f"COCO captions json not found: {root}")
    found = [f for folder in (root, storage.join(root, "annotations")) if storage.is_dir(folder)
             for f in storage.list_files(folder, (".json",)) if posixpath.basename(f).startswith("captions_")]
    if len(found) != 1:
        raise FileNotFoundError(f"expected one captions_*.json in {root} or {storage.join(root, 'annotations')}, "
                                f"found {sorted(found) or 'none'}; pass the json itself")
    return found[0]


def default_images_dir(captions_json: str) -> str:
    """COCO's layout: annotations/captions_<split>.json -> <split>/ beside the annotations folder."""
    path = captions_json if storage.is_remote(captions_json) else storage.resolve(captions_json)[1]
    folder = posixpath.dirname(path)
    parent = posixpath.dirname(folder)
    split = posixpath.splitext(posixpath.basename(path))[0].removeprefix("captions_")
    tried = [posixpath.join(parent, split), posixpath.join(folder, split), posixpath.join(folder, "images"),
             posixpath.join(parent, "images")]
    found = next((p for p in tried if storage.is_dir(p)), None)
    if found is None:
        raise FileNotFoundError(f"images folder for {captions_json} not found (tried {', '.join(tried)}); "
                                f"pass images=")
    return found


def parse_captions_json(data: Any, where: str) -> tuple[Images, Captions]:
    """(images sorted by id, image id -> captions in annotation id order) of a parsed captions json."""
    missing = [k for k in ("images", "annotations") if not isinstance(data, dict) or k not in data]
    if missing:
        has = ", ".join(sorted(data)) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{where}: not a COCO captions json: no {' or '.join(map(repr, missing))} (it has: "
                         f"{has or 'nothing'}); expected 'images' [{{id, file_name}}] and 'annotations' "
                         f"[{{image_id, caption}}]")
    notes = data["annotations"]
    if notes and "caption" not in notes[0]:
        raise ValueError(f"{where}: its annotations have no 'caption' (fields: {', '.join(sorted(notes[0]))}): "
                         f"instances_*.json and person_keypoints_*.json hold boxes; use captions_*.json")
    bad = next((im for im in data["images"] if not isinstance(im, dict) or not {"id", "file_name"} <= set(im)), None)
    if bad is not None:
        raise ValueError(f"{where}: image entry {str(bad)[:200]} lacks 'id' or 'file_name'")
    captions: Captions = defaultdict(list)
    for _, note in sorted(enumerate(notes), key=lambda p: (_as_id(p[1].get("id", p[0]), where), p[0])):
        captions[_as_id(note["image_id"], where)].append(str(note.get("caption") or ""))
    return sorted(data["images"], key=lambda im: _as_id(im["id"], where)), captions


def _as_id(value: Any, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: id {value!r} is not an integer (COCO ids are integers)") from None


class CocoItem(NamedTuple):
    image_id: int
    file_name: str  # relative to ``images``, as the json says it (checked in load)
    captions: tuple[str, ...]  # raw, possibly blank; () when no annotation names the image
    images: str  # the images folder, resolved once in items()


@SOURCES.register("coco")
@dataclass(frozen=True)
class CocoSource:
    input: str  # captions_*.json, or a folder holding one
    images: str = ""  # images folder; "" = COCO's layout beside the json

    def items(self) -> Iterator[CocoItem]:
        path = find_captions_json(self.input)
        images = require_folder(self.images, "images folder") if self.images else default_images_dir(path)
        entries, captions = parse_captions_json(json.loads(storage.read_text(path)), path)
        return (CocoItem(int(im["id"]), str(im["file_name"]), tuple(captions.get(int(im["id"]), ())), images)
                for im in entries)

    def load(self, item: CocoItem) -> Record:
        if not item.captions:
            raise SkipRecord("no_caption", f"image {item.image_id}")
        captions = clean_captions(item.captions)
        data = read_file(safe_join(item.images, item.file_name))
        meta = {"image_id": item.image_id, "file_name": item.file_name}
        return make_record(f"coco/{item.image_id:012d}", data, captions, meta)
