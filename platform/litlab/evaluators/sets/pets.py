"""Your own Oxford-IIIT Pets (37 cat and dog breeds) from its list files: ``annotations/{test,trainval}.txt``.

Each list line is ``<image stem> <class id> <species> <breed id>``, e.g. ``Abyssinian_100 1 1 1``; the class
id is 1-based (label = id - 1) and lines starting with ``#`` are comments. The class name is the stem without
its trailing ``_<number>``, underscores read as spaces ("american_bulldog_100" -> "american bulldog";
capitalised stems are the cats). Images: ``images/<stem>.jpg``; missing or undecodable ones (the release has
a few non-JPEG files, which still decode) are counted. ``root`` = the dataset folder holding annotations/
and images/. Order: the list file's.
"""

from __future__ import annotations

import re
from pathlib import Path

from litlab.evaluators.sets.assemble import build_labelled
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.paths import need_root, require_path
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import LabelledEvalSet

TRAILING_NUMBER = re.compile(r"_\d+$")


def breed_name(stem: str) -> str:
    """"Abyssinian_100" -> "Abyssinian", "american_pit_bull_terrier_12" -> "american pit bull terrier"."""
    return TRAILING_NUMBER.sub("", stem).replace("_", " ").strip()


def read_list(path: Path) -> tuple[list[str], list[int], list[str]]:
    """(image stems, labels 0-based, class names by label) of a Pets list file."""
    stems, labels, names = [], [], {}
    text = require_path(path, "Oxford-IIIT Pets list file").read_text(encoding="utf-8")
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) < 1:
            raise ValueError(f"{path}:{n}: expected '<stem> <class id from 1> ...', got {line!r}")
        stem, label = parts[0], int(parts[1]) - 1
        if names.setdefault(label, breed_name(stem)) != breed_name(stem):
            raise ValueError(f"{path}:{n}: class id {label + 1} is {names[label]!r} elsewhere, {stem!r} here")
        stems.append(stem)
        labels.append(label)
    missing = sorted(set(range(max(names, default=-1) + 1)) - set(names))
    if not stems or missing:
        raise ValueError(f"{path}: no entries, or class ids {[m + 1 for m in missing]} never appear")
    return stems, labels, [names[i] for i in range(len(names))]


def load_pets(split: str, root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """Pets ``split`` ("test" or "trainval") as a labelled set of 37 breeds."""
    folder = require_path(need_root(root, f"pets-{split}", "the folder with annotations/ and images/"),
                          "Oxford-IIIT Pets folder")
    stems, labels, names = read_list(folder / "annotations" / f"{split}.txt")
    images = require_path(folder / "images", "Oxford-IIIT Pets images folder")
    pick = subset(len(stems), max_images)
    return build_labelled(f"pets-{split}", [images / f"{stems[i]}.jpg" for i in pick], [labels[i] for i in pick],
                          names, size)


@EVAL_SETS.register("pets-test")
def pets_test(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """Oxford-IIIT Pets test split (3669 images)."""
    return load_pets("test", root, size, max_images)


@EVAL_SETS.register("pets-trainval")
def pets_trainval(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """Oxford-IIIT Pets trainval split (3680 images): few-shot probe training data."""
    return load_pets("trainval", root, size, max_images)
