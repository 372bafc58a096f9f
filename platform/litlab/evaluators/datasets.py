"""Labelled evaluation sets read from shards whose ``json`` column carries ``label`` and ``class``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from litlab.data.shards import iter_rows
from litlab.data.transforms import load_image


@dataclass(frozen=True)
class LabelledSet:
    images: np.ndarray  # (N, H, W, 3) uint8
    labels: np.ndarray  # (N,) int64
    classnames: tuple[str, ...]  # index = label


def load_labelled(folder: str | Path, size: int, max_images: int = 0) -> LabelledSet:
    """The first ``max_images`` rows (0 = all), resized for the evaluation transform."""
    images, labels, names = [], [], {}
    for row in iter_rows(folder, columns=["jpg", "json"]):
        meta = json.loads(row["json"])
        if "label" not in meta or "class" not in meta:
            raise ValueError(f"{folder}: rows need meta 'label' and 'class' for classification, got {sorted(meta)}")
        images.append(load_image(row["jpg"], size))
        labels.append(int(meta["label"]))
        names[int(meta["label"])] = str(meta["class"])
        if max_images and len(images) >= max_images:
            break
    if not images:
        raise ValueError(f"evaluation set {folder} has no rows")
    missing = sorted(set(range(max(names) + 1)) - set(names))
    if missing:
        raise ValueError(f"{folder}: labels {missing} never appear; cannot name every class")
    return LabelledSet(np.stack(images), np.asarray(labels, np.int64), tuple(names[i] for i in range(len(names))))
