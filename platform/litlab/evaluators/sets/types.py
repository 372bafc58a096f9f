"""The three shapes an evaluation set comes in: labelled (classification), retrieval, cross-style retrieval.

Every set carries its ``name`` and ``skipped`` (reason -> count: e.g. ``corrupt_image``, ``missing_file``,
``no_caption``) so a run can record how much of the source it really evaluated on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from litlab.evaluators.datasets import LabelledSet


def _check_images(images: np.ndarray, what: str) -> None:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{what} must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}")


def _check_index(index: np.ndarray, n_targets: int, what: str) -> None:
    if index.dtype != np.int64 or index.ndim != 1:
        raise ValueError(f"{what} must be int64 (M,), got {index.dtype} {index.shape}")
    if len(index) and (index.min() < 0 or index.max() >= n_targets):
        raise ValueError(f"{what} must index 0..{n_targets - 1}, got {index.min()}..{index.max()}")


@dataclass(frozen=True)
class LabelledEvalSet(LabelledSet):
    """A LabelledSet (zero-shot classification, few-shot probes) that also says where it came from."""

    name: str = ""
    skipped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_images(self.images, f"{self.name}: images")
        _check_index(self.labels, len(self.classnames), f"{self.name}: labels")
        if len(self.labels) != len(self.images):
            raise ValueError(f"{self.name}: {len(self.images)} images but {len(self.labels)} labels")


@dataclass(frozen=True)
class RetrievalSet:
    """Images and captions, several captions per image allowed; every image has at least one caption."""

    images: np.ndarray  # (N, H, W, 3) uint8
    captions: tuple[str, ...]  # (M,)
    caption_to_image: np.ndarray  # (M,) int64: the image each caption describes
    name: str = ""
    skipped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_images(self.images, f"{self.name}: images")
        _check_index(self.caption_to_image, len(self.images), f"{self.name}: caption_to_image")
        if len(self.captions) != len(self.caption_to_image):
            raise ValueError(f"{self.name}: {len(self.captions)} captions but "
                             f"{len(self.caption_to_image)} caption_to_image entries")
        uncaptioned = np.setdiff1d(np.arange(len(self.images)), self.caption_to_image)
        if len(uncaptioned):
            raise ValueError(f"{self.name}: images {uncaptioned[:10].tolist()} have no caption")


@dataclass(frozen=True)
class CrossStyleSet:
    """The same things drawn in two styles: each query image's match is one target image.

    Image -> image retrieval: query ``i`` is found at k when ``target_images[query_to_target[i]]`` is among
    its k nearest targets. ``names`` (one per target) say what each target shows, for reports.
    """

    query_images: np.ndarray  # (N, H, W, 3) uint8, drawn in query_style
    target_images: np.ndarray  # (M, H, W, 3) uint8, drawn in target_style
    query_to_target: np.ndarray  # (N,) int64
    names: tuple[str, ...]  # (M,)
    query_style: str
    target_style: str
    name: str = ""
    skipped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_images(self.query_images, f"{self.name}: query_images")
        _check_images(self.target_images, f"{self.name}: target_images")
        _check_index(self.query_to_target, len(self.target_images), f"{self.name}: query_to_target")
        if len(self.query_to_target) != len(self.query_images):
            raise ValueError(f"{self.name}: {len(self.query_images)} queries but "
                             f"{len(self.query_to_target)} query_to_target entries")
        if len(self.names) != len(self.target_images):
            raise ValueError(f"{self.name}: {len(self.target_images)} targets but {len(self.names)} names")


EvalSet = LabelledEvalSet | RetrievalSet | CrossStyleSet
