"""The words an evaluation set scores a model on, without decoding a single image: SET_TEXTS, one lister per set.

``set_texts("fmnist-test", root)`` -> ``SetTexts(kind="class names", texts=("T-shirt/top", ...))``. Zero-shot
sets give their class names (what prompts are made of), retrieval sets every caption, image-only sets (cross-style
retrieval) nothing. Each lister reads what its loader reads (the same files, the same root), through the same
listing functions, but never an image: the vocabulary coverage (``litlab.data.coverage``) calls them once per
sweep. Every registered evaluation set has a lister (a test checks it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from litlab.data.sources import fashion_mnist as fm
from litlab.data.sources.emoji import parse_emoji_test, select_entries
from litlab.data.sources.tuxpaint import ROOT as STAMPS
from litlab.data.sources.tuxpaint import read_caption, walk_stamps
from litlab.evaluators.sets import cifar100, coco, emoji_groups, emoji_vendors, image_folder, pets
from litlab.evaluators.sets.emoji_styles import PAIRS
from litlab.evaluators.sets.names import readable
from litlab.evaluators.sets.paths import find_in, need_root, require_path
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.shard_split import read_split, split_folder
from litlab.registry import Registry

TextKind = Literal["class names", "captions", "none"]


@dataclass(frozen=True)
class SetTexts:
    kind: TextKind  # class names (zero-shot, few-shot), captions (retrieval), none (image-only sets)
    texts: tuple[str, ...]


Lister = Callable[[str | Path | None], SetTexts]
SET_TEXTS: Registry[Lister] = Registry("evaluation-set text lister")


def set_texts(name: str, root: str | Path | None = None) -> SetTexts:
    """The texts of evaluation set ``name`` read from ``root`` (as its loader would); unknown names list the valid."""
    EVAL_SETS.get(name)
    return SET_TEXTS.get(name)(root)


def _names(*names: str) -> SetTexts:
    return SetTexts("class names", tuple(names))


@SET_TEXTS.register("fmnist-test")
def _fmnist_test(root: str | Path | None) -> SetTexts:
    metas = [json.loads(r["json"]) for r in read_split(split_folder(root, "fmnist-test"), ["json"])]
    by_label = {int(m["label"]): str(m["class"]) for m in metas}
    return _names(*(by_label[i] for i in sorted(by_label)))


for _split in ("train", "test"):
    SET_TEXTS.register(f"fmnist-idx-{_split}")(lambda root: _names(*fm.CLASSES))


def _emoji_classes(by: str, root: str | Path | None) -> SetTexts:
    entries = select_entries(parse_emoji_test(emoji_groups.test_file(root)))
    return _names(*(readable(c) for c in dict.fromkeys(getattr(e, by) for e in entries)))


SET_TEXTS.register("emoji-groups")(lambda root: _emoji_classes("group", root))
SET_TEXTS.register("emoji-subgroups")(lambda root: _emoji_classes("subgroup", root))
SET_TEXTS.register(emoji_vendors.NAME)(lambda root: _names(*emoji_vendors.join_heldout(root).classnames))


@SET_TEXTS.register("emoji-heldout")
def _emoji_heldout(root: str | Path | None) -> SetTexts:
    rows = read_split(split_folder(root, "emoji-heldout"), ["txt"])
    return SetTexts("captions", tuple(r["txt"] for r in rows if r["txt"]))


@SET_TEXTS.register("tuxpaint-stamps")
def _tuxpaint(root: str | Path | None) -> SetTexts:
    pngs, _ = walk_stamps(STAMPS if root is None else Path(root).expanduser())
    return SetTexts("captions", tuple(c for png in pngs if (c := read_caption(png))))


for _query, _target in PAIRS:
    SET_TEXTS.register(f"emoji-style-{_query}-{_target}")(lambda root: SetTexts("none", ()))


def _cifar100(root: str | Path | None) -> SetTexts:
    archive = find_in(need_root(root, "cifar100", cifar100.ARCHIVE), (cifar100.ARCHIVE,), "CIFAR-100 archive")
    names = cifar100.read_member(archive, "meta").get(b"fine_label_names", [])
    return _names(*(readable(n.decode() if isinstance(n, bytes) else str(n)) for n in names))


def _pets(split: str) -> Lister:
    def lister(root: str | Path | None) -> SetTexts:
        folder = require_path(need_root(root, f"pets-{split}", "the folder with annotations/ and images/"),
                              "Oxford-IIIT Pets folder")
        return _names(*pets.read_list(folder / "annotations" / f"{split}.txt")[2])

    return lister


@SET_TEXTS.register("coco-captions")
def _coco(root: str | Path | None) -> SetTexts:
    path = Path(coco.find_captions_json(str(need_root(root, "coco-captions", "a captions_*.json"))))
    images, captions = coco.read_captions_json(path)
    return SetTexts("captions", tuple(c for im in images for c in captions.get(int(im["id"]), [])))


@SET_TEXTS.register("image-folder")
def _image_folder(root: str | Path | None) -> SetTexts:
    folder = require_path(need_root(root, "image-folder", "a folder of class sub-folders"), "image folder")
    return _names(*image_folder.classes(folder)[1])


for _split in ("train", "test"):
    SET_TEXTS.register(f"cifar100-{_split}")(_cifar100)
for _split in ("test", "trainval"):
    SET_TEXTS.register(f"pets-{_split}")(_pets(_split))
