"""Your own COCO-style captions as image-text retrieval: a ``captions_*.json`` plus its images folder.

The json is COCO's captions format: ``images`` [{id, file_name}, ...] and ``annotations`` [{image_id,
caption}, ...] (Flickr30k converted to it works the same). ``root`` = the json, or a folder holding exactly
one ``captions_*.json`` (directly or in ``annotations/``). Images are read from ``images=`` or, by default,
from COCO's layout: ``annotations/captions_val2017.json`` -> ``../val2017/`` (also tried: ``images/`` beside
the json or beside its folder). Images are ordered by id, captions by annotation id (else file order).

``split=`` restricts the set to a list: a text file (one file name or image id a line; ``#`` comments), a
json list of names/ids, or Karpathy's ``dataset_coco.json`` (its images whose ``split`` is ``split_name``,
default "test": the 5k test split, matched by ``cocoid``). Split entries that match no image are counted as
``not_in_captions``; images without captions as ``no_caption``; unreadable ones as ``missing_file`` /
``corrupt_image``. Finding and parsing the json is shared with the shard source ``coco``
(``litlab.data.sources.coco``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litlab.data.sources.coco import default_images_dir, find_captions_json, parse_captions_json
from litlab.evaluators.sets.assemble import build_retrieval
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.paths import need_root, require_path
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import RetrievalSet


def read_captions_json(path: Path) -> tuple[list[dict[str, Any]], dict[int, list[str]]]:
    """(images sorted by id, image id -> captions in annotation order)."""
    return parse_captions_json(json.loads(path.read_text(encoding="utf-8")), str(path))


def read_split_list(path: str | Path, split_name: str = "test") -> set[str]:
    """Image ids / file names (as strings) listed in a text file, a json list or Karpathy's dataset json."""
    path = require_path(Path(path).expanduser(), "split list")
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".json":
        return {s for line in text.splitlines() if (s := line.split("#")[0].strip())}
    data = json.loads(text)
    if isinstance(data, dict) and isinstance(data.get("images"), list):  # Karpathy's dataset_coco.json
        return {str(im.get("cocoid", im.get("imgid"))) for im in data["images"] if im.get("split") == split_name}
    if isinstance(data, list):
        return {str(x) for x in data}
    raise ValueError(f"{path}: expected a json list of file names/ids or Karpathy's dataset json with 'images'")


def restrict(images: list[dict[str, Any]], keys: set[str]) -> tuple[list[dict[str, Any]], int]:
    """(images whose id or file name is in ``keys``, how many keys matched nothing)."""
    kept, matched = [], set()
    for im in images:
        hit = keys & {str(im["id"]), str(im["file_name"]), Path(str(im["file_name"])).name}
        if hit:
            kept.append(im)
            matched |= hit
    return kept, len(keys - matched)


def load_coco_captions(root: str | Path | None, size: int, max_images: int = 0, *, images: str | Path | None = None,
                       split: str | Path | None = None, split_name: str = "test") -> RetrievalSet:
    """Retrieval set of a COCO captions json, optionally restricted to a split list."""
    path = Path(find_captions_json(str(need_root(root, "coco-captions", "a captions_*.json"))))
    folder = require_path(Path(images).expanduser(), "images folder") if images else \
        Path(default_images_dir(str(path)))
    entries, captions = read_captions_json(path)
    skipped = {}
    if split is not None:
        entries, skipped["not_in_captions"] = restrict(entries, read_split_list(split, split_name))
        if not entries:
            raise ValueError(f"split list {split} matches no image of {path} (by id or file name)")
    pick = subset(len(entries), max_images)
    return build_retrieval("coco-captions", [folder / str(entries[i]["file_name"]) for i in pick],
                           [captions.get(int(entries[i]["id"]), []) for i in pick], size, skipped)


EVAL_SETS.register("coco-captions")(load_coco_captions)
