"""The labelled evaluation set: images with integer labels and the class names they index (zero-shot, few-shot).

Loaders live in ``litlab.evaluators.sets`` (``fmnist-test`` reads the shards' ``json`` label/class meta).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LabelledSet:
    images: np.ndarray  # (N, H, W, 3) uint8
    labels: np.ndarray  # (N,) int64
    classnames: tuple[str, ...]  # index = label
