"""Fashion-MNIST as labelled evaluation sets (zero-shot classification and few-shot probes), 10 classes.

- ``fmnist-test``: the ``fmnist-test`` split of the demo shards (the subset ``make data`` built, 2000 images
  by default); ``root`` = data root or the split folder. Images are picked evenly over the split's order.
- ``fmnist-idx-train`` / ``fmnist-idx-test``: all 60000 / 10000 images read straight from the idx files of
  the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist; ``root`` = another folder
  holding the same files). Train feeds few-shot probe training, test the probe's evaluation. ``max_images``
  keeps a class-balanced subset (``litlab.data.sources.fashion_mnist.balanced_subset``, seed 0), so a
  small probe still sees every class equally often. Mind memory: all 60000 at 224 px are 9 GB of uint8.
At 224 px on a 2-core CPU: fmnist-test (2000) ~3 s, fmnist-idx-test (10000, 1.5 GB) ~24 s.
"""

from __future__ import annotations

import json
from pathlib import Path

from litlab.data.sources import fashion_mnist as fm
from litlab.evaluators.sets.assemble import build_labelled
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.shard_split import read_split, split_folder
from litlab.evaluators.sets.types import LabelledEvalSet

SHARD_SPLIT = "fmnist-test"


@EVAL_SETS.register("fmnist-test")
def fmnist_test_shards(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """The ``fmnist-test`` shard split; labels and class names from each row's json meta."""
    folder = split_folder(root, SHARD_SPLIT)
    rows = read_split(folder, ["jpg", "json"])
    metas = [json.loads(r["json"]) for r in rows]
    if any("label" not in m or "class" not in m for m in metas):
        raise ValueError(f"{folder}: rows need json meta 'label' and 'class'; is this the fmnist-test split?")
    names = {int(m["label"]): str(m["class"]) for m in metas}
    if sorted(names) != list(range(len(fm.CLASSES))):
        raise ValueError(f"{folder}: labels {sorted(names)} do not cover all {len(fm.CLASSES)} classes")
    pick = subset(len(rows), max_images)
    return build_labelled("fmnist-test", [rows[i]["jpg"] for i in pick], [int(metas[i]["label"]) for i in pick],
                          [names[c] for c in range(len(names))], size)


def _from_idx(split: fm.Split, root: str | Path | None, size: int, max_images: int) -> LabelledEvalSet:
    if max_images < 0:
        raise ValueError(f"max_images must be >= 0 (0 = all), got {max_images}")
    images, labels = fm.load_split(split, fm.ROOT if root is None else Path(root).expanduser())  # (N, 28, 28)
    pick = fm.balanced_subset(labels, max_images or None)
    return build_labelled(f"fmnist-idx-{split}", images[pick], labels[pick], fm.CLASSES, size)


@EVAL_SETS.register("fmnist-idx-train")
def fmnist_idx_train(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """Fashion-MNIST train (60000) from the Debian idx files: few-shot probe training data."""
    return _from_idx("train", root, size, max_images)


@EVAL_SETS.register("fmnist-idx-test")
def fmnist_idx_test(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """Fashion-MNIST test (10000) from the Debian idx files."""
    return _from_idx("test", root, size, max_images)
