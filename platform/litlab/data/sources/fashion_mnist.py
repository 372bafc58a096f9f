"""Fashion-MNIST from the Debian package dataset-fashion-mnist: 60k train / 10k test 28x28 images, 10 classes.

The idx files are read with numpy. Records carry a short natural caption built from the class name and
meta {label, class, split}, so the same shards serve contrastive training and zero-shot classification.

Shard source ``fashion-mnist`` (options: input = the idx folder, split, limit, seed): items are image indices
(``limit`` > 0: a class-balanced subset), ``load`` reads from the split's arrays, decoded once per process.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from litlab.data.shards import Record, encode_jpeg
from litlab.data.sources.base import SOURCES
from litlab.data.sources.packages import missing_deb

ROOT = Path("/usr/share/datasets/fashion-mnist")
PACKAGE = "dataset-fashion-mnist"
CLASSES = ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "ankle boot")
TEMPLATES = ("a photo of {a}", "{a}", "a black and white photo of the {c}", "a product photo of {a}",
             "a small grayscale picture of {a}")
FILES = {"train": "train", "test": "t10k"}
SPLIT_SIZES = {"train": 60000, "test": 10000}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # idx3 ubyte, idx1 ubyte

Split = Literal["train", "test"]


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """An idx ubyte array (gzip), its magic number and sizes checked."""
    if not path.is_file():
        raise missing_deb(PACKAGE, path)
    with gzip.open(path, "rb") as f:
        raw = f.read()
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise ValueError(f"{path}: magic number {found}, expected {magic}; not an idx file of this kind")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {len(raw) - offset} bytes of data")
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(shape)


def load_split(split: Split, root: str | Path = ROOT) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) int64) of the train (60000) or test (10000) split."""
    if split not in FILES:
        raise ValueError(f"unknown Fashion-MNIST split {split!r}; choose one of {', '.join(FILES)}")
    stem = Path(root) / FILES[split]
    images = _read_idx(Path(f"{stem}-images-idx3-ubyte.gz"), IMAGES_MAGIC, 3)
    labels = _read_idx(Path(f"{stem}-labels-idx1-ubyte.gz"), LABELS_MAGIC, 1).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"Fashion-MNIST {split}: {len(images)} images but {len(labels)} labels")
    if labels.max(initial=0) >= len(CLASSES):
        raise ValueError(f"Fashion-MNIST {split}: label {labels.max()} outside 0..{len(CLASSES) - 1}")
    return images, labels


def balanced_subset(labels: np.ndarray, limit: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``limit`` images, an equal share per class (the first limit % 10 get one more)."""
    if limit is None or limit >= len(labels):
        return np.arange(len(labels))
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    rng = np.random.default_rng(seed)
    n_classes = len(CLASSES)
    picked = []
    for c in range(n_classes):
        quota = limit // n_classes + int(c < limit % n_classes)
        picked.append(rng.permutation(np.flatnonzero(labels == c))[:quota])
    return np.sort(np.concatenate(picked))


def with_article(noun: str) -> str:
    return ("an " if noun[0].lower() in "aeiou" else "a ") + noun


def caption(key: str, classname: str) -> str:
    """One of TEMPLATES filled with ``classname``, chosen by a hash of the key (stable across runs)."""
    pick = int.from_bytes(hashlib.sha1(key.encode()).digest()[:4], "big") % len(TEMPLATES)
    return TEMPLATES[pick].format(a=with_article(classname), c=classname)


@lru_cache(maxsize=2)
def cached_split(split: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    """``load_split`` once per process (train: 47 MB), read-only, shared by every ``load`` call."""
    images, labels = load_split(split, root)  # type: ignore[arg-type]  # load_split checks the name
    labels.flags.writeable = False
    return images, labels


def record_at(split: str, images: np.ndarray, labels: np.ndarray, index: int) -> Record:
    """The record of image ``index``: key ``fmnist/<split>/<index:05d>``, a caption naming its class."""
    key, label = f"fmnist/{split}/{index:05d}", int(labels[index])
    jpg = encode_jpeg(Image.fromarray(images[index]), quality=95)
    meta = {"label": label, "class": CLASSES[label], "split": split}
    return Record(key=key, jpg=jpg, txt=caption(key, CLASSES[label]), meta=meta)


@SOURCES.register("fashion-mnist")
@dataclass(frozen=True)
class FashionMnist:
    """One split of Fashion-MNIST; ``limit`` 0 = all, else a class-balanced subset drawn with ``seed``."""

    input: str = str(ROOT)
    split: str = "train"
    limit: int = 0
    seed: int = 0

    def items(self) -> Iterator[int]:
        _, labels = cached_split(self.split, self.input)
        return iter(balanced_subset(labels, self.limit or None, self.seed).tolist())

    def load(self, item: int) -> Record:
        images, labels = cached_split(self.split, self.input)
        return record_at(self.split, images, labels, int(item))


def iter_fashion_mnist(split: Split, *, limit: int | None = None, seed: int = 0,
                       root: str | Path = ROOT) -> Iterator[Record]:
    """Records keyed ``fmnist/<split>/<index:05d>`` in index order; ``limit``: a class-balanced subset."""
    images, labels = cached_split(split, str(root))  # read now, so a missing file fails at the call
    return (record_at(split, images, labels, int(i)) for i in balanced_subset(labels, limit, seed))
