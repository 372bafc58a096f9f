"""Deduplication methods: how an image becomes a feature and which evaluation images a feature matches.

``DEDUP_METHODS`` holds one class per method (``@DEDUP_METHODS.register("phash")``), each with its default
threshold, chosen by ``experiments/benchmarks/dedup_quality.py`` (the best F1 on real near-duplicates among the
thresholds that falsely remove at most 1 % of the demo train rows against the demo evaluation splits):

- ``exact``: the shards' ``sha1`` column (``hashing.content_hash`` of the decoded RGB pixels): the same picture,
  pixel for pixel. Threshold: 0 only. A hash join (dict lookup), no search.
- ``phash``: the shards' ``phash`` column (64-bit DCT perceptual hash): a match is a Hamming distance <=
  threshold (a whole number 1..64; default 2: re-encodes, resizes, recolours; never crops). Distances between
  these hashes are even, so 1 means equal hashes. Brute force XOR + popcount over (chunk, N_eval) blocks.
- ``embedding``: cosine similarity >= threshold (0 < t <= 1; default 0.98) between the pooled features of a
  locked pretrained image tower (``efficientnet_lite0`` from the zoo, ImageNet-1k), the image plainly resized to
  the tower's 224 px (the evaluation transform). Brute force (chunk, N_eval) matmuls of L2-normalised features.
  It catches crops that phash misses, but similar-looking emoji and Fashion-MNIST items reach high cosines
  too, so a threshold low enough for re-encodes removes many distinct images.

A feature batch comes from a column batch: ``sha1`` / ``phash`` when the shards have them, else they are
computed from ``jpg`` (encoded bytes, a path, a pixel array or a PIL image), as the shard writer would.
``search`` never holds more than ``BLOCK`` scores at once, whatever the sizes, and gives the same result for
any ``chunk``. No similarity-search library is used: at these sizes brute force costs seconds (see the
benchmark's timing line), and the exact answer keeps the counts reproducible.
The shared search (``Matches``, ``BLOCK``, ``chunked_search``): ``litlab.data.dedup.search``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from litlab.data.dedup.search import Matches, chunked_search, no_matches
from litlab.data.hashing import content_hash, phash, to_signed
from litlab.data.transforms import BadImage, decode, resize, to_rgb
from litlab.registry import Registry


def rgb_image(item: Any) -> Image.Image:
    """8-bit RGB PIL image from encoded bytes, a path, a pixel array (H, W) / (H, W, 3|4) or a PIL image; the
    training decoder's rules (transparency on white). Raises BadImage when it cannot be read (or is None: the rows
    img2dataset failed to download)."""
    if item is None:
        raise BadImage("no_image", "no image bytes")
    if isinstance(item, Image.Image):
        return to_rgb(item)
    if isinstance(item, np.ndarray):
        return to_rgb(Image.fromarray(np.ascontiguousarray(item)))
    if isinstance(item, (str, Path)):
        try:
            item = Path(item).read_bytes()
        except OSError as err:
            raise BadImage("missing_file", str(err)) from err
    return decode(bytes(item))


def _from_images(items: Sequence[Any], fn: Any, empty: Any) -> tuple[list[Any], np.ndarray]:
    """``fn(rgb)`` of each item, ``empty`` where it does not decode; and the (Q,) mask of those that did."""
    out, ok = [], np.ones(len(items), bool)
    for i, item in enumerate(items):
        try:
            out.append(fn(rgb_image(item)))
        except (BadImage, OSError, ValueError):
            out.append(empty)
            ok[i] = False
    return out, ok


class DedupMethod:
    """A way to compare images. Subclasses set the class attributes and implement the four methods."""

    name: ClassVar[str]
    default_threshold: ClassVar[float]
    columns: ClassVar[tuple[str, ...]]  # the shard columns it reads (``jpg`` is the fallback for hashes)
    thresholds: ClassVar[str]  # the valid thresholds, in words, for errors

    def check_threshold(self, threshold: float) -> float:
        """The threshold to use: the default for 0, else ``threshold`` if valid (ValueError listing them)."""
        raise NotImplementedError

    def features(self, batch: Mapping[str, Sequence[Any]]) -> tuple[Any, np.ndarray]:
        """(Q features, (Q,) bool mask of rows whose image could be read: the others never match)."""
        raise NotImplementedError

    def prepare(self, features: Any) -> Any:
        """The evaluation side's features in the form ``search`` reads (built once, then broadcast)."""
        return features

    def search(self, index: Any, queries: Any, threshold: float, chunk: int | None = None) -> Matches:
        raise NotImplementedError

    @staticmethod
    def concat(parts: Sequence[Any]) -> Any:
        """One feature array from several batches' features."""
        return np.concatenate(parts) if parts else np.zeros(0)

    def describe(self) -> str:
        return f"{self.name} (default threshold {self.default_threshold:g}; {self.thresholds})"


DEDUP_METHODS: Registry[type[DedupMethod]] = Registry("dedup method")


def get_method(name: str, **options: Any) -> DedupMethod:
    """An instance of the method registered as ``name`` (unknown names list the valid ones)."""
    return DEDUP_METHODS.get(name)(**options)


@DEDUP_METHODS.register("exact")
class Exact(DedupMethod):
    """The same decoded pixels (and size): sha1 equality."""

    name = "exact"
    default_threshold = 0.0
    columns = ("sha1",)
    thresholds = "0 only: the pixels are equal or not"

    def check_threshold(self, threshold: float) -> float:
        if threshold != 0:
            raise ValueError(f"dedup method 'exact' takes no threshold ({self.thresholds}), got {threshold:g}")
        return 0.0

    def features(self, batch: Mapping[str, Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        if "sha1" in batch:
            hashes = [str(h) if h is not None else "" for h in batch["sha1"]]
            ok = np.array([bool(h) for h in hashes], bool)
        else:
            hashes, ok = _from_images(batch["jpg"], content_hash, "")
        return np.array(hashes, dtype=object), ok

    def prepare(self, features: np.ndarray) -> dict[str, np.ndarray]:
        where: dict[str, list[int]] = {}
        for i, h in enumerate(features):
            if h:
                where.setdefault(str(h), []).append(i)
        return {h: np.asarray(ix, np.int64) for h, ix in where.items()}

    def search(self, index: dict[str, np.ndarray], queries: np.ndarray, threshold: float,
               chunk: int | None = None) -> Matches:
        empty = np.zeros(0, np.int64)
        hits = [index.get(str(h), empty) if h else empty for h in queries]
        best = np.array([h[0] if len(h) else -1 for h in hits], np.int64)
        return Matches(best, np.where(best >= 0, 0.0, np.nan), hits)

    @staticmethod
    def concat(parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=object)


@DEDUP_METHODS.register("phash")
class PHash(DedupMethod):
    """64-bit DCT perceptual hashes within ``threshold`` differing bits."""

    name = "phash"
    default_threshold = 2.0  # the benchmark's rule: best F1 with <= 1 % false removals (distances are even)
    columns = ("phash",)
    thresholds = "a whole number of differing bits, 0..64"

    def check_threshold(self, threshold: float) -> float:
        if threshold == 0:
            return self.default_threshold
        if not (float(threshold).is_integer() and 0 < threshold <= 64):
            raise ValueError(f"dedup method 'phash' needs {self.thresholds} (0 = the default "
                             f"{self.default_threshold:g}), got {threshold:g}")
        return float(threshold)

    def features(self, batch: Mapping[str, Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        if "phash" in batch:
            values = np.asarray([0 if h is None else int(h) for h in batch["phash"]], np.int64)
            ok = np.array([h is not None for h in batch["phash"]], bool)
            return values, ok
        hashes, ok = _from_images(batch["jpg"], lambda img: to_signed(phash(img)), 0)
        return np.asarray(hashes, np.int64), ok

    def prepare(self, features: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(features, np.int64).view(np.uint64))

    def search(self, index: np.ndarray, queries: np.ndarray, threshold: float,
               chunk: int | None = None) -> Matches:
        q = np.asarray(queries, np.int64).view(np.uint64)
        if not len(q) or not len(index):
            return no_matches(len(q))
        def block(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            dist = np.bitwise_count(rows[:, None] ^ index[None, :])  # (c, N) uint8
            return dist, dist <= threshold

        return chunked_search(q, len(index), chunk, block, closer_is_higher=False)


@DEDUP_METHODS.register("embedding")
class Embedding(DedupMethod):
    """Cosine similarity of a locked pretrained image tower's pooled features (the tower is built on first use)."""

    name = "embedding"
    default_threshold = 0.98  # the benchmark's rule (0.95 already removes 4 % of emoji rows falsely)
    columns = ("jpg",)
    thresholds = "a cosine similarity, 0 < t <= 1"
    arch_default = "efficientnet_lite0"
    size_default = 224

    def __init__(self, arch: str = arch_default, size: int = size_default, batch_size: int = 64,
                 device: str = "cpu") -> None:
        self.arch, self.size, self.batch_size, self.device = arch, size, batch_size, device
        self._tower: Any = None

    def check_threshold(self, threshold: float) -> float:
        if threshold == 0:
            return self.default_threshold
        if not 0 < threshold <= 1:
            raise ValueError(f"dedup method 'embedding' needs {self.thresholds} (0 = the default "
                             f"{self.default_threshold:g}), got {threshold:g}")
        return float(threshold)

    @property
    def tower(self) -> Any:
        if self._tower is None:
            from litlab.models.image_towers import build_image_tower

            self._tower = build_image_tower(self.arch, pretrained=True).eval().to(self.device)
        return self._tower

    def pixels(self, items: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """((Q, size, size, 3) uint8 images through the evaluation transform, (Q,) ok mask); black where unreadable."""
        blank = np.zeros((self.size, self.size, 3), np.uint8)
        images, ok = _from_images(items, lambda img: resize(img, self.size), blank)
        return (np.stack(images) if images else np.zeros((0, self.size, self.size, 3), np.uint8)), ok

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(Q, F) float32 L2-normalised features of (Q, size, size, 3) uint8 images."""
        import torch

        out = []
        with torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                x = torch.from_numpy(images[start:start + self.batch_size]).to(self.device)
                z = torch.nn.functional.normalize(self.tower(x).float(), dim=-1)
                out.append(z.cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.tower.feature_dim), np.float32)

    def features(self, batch: Mapping[str, Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        images, ok = self.pixels(batch["jpg"])
        feats = self.embed(images)
        feats[~ok] = 0.0  # an unreadable image has no direction: cosine 0 with everything
        return feats, ok

    def search(self, index: np.ndarray, queries: np.ndarray, threshold: float,
               chunk: int | None = None) -> Matches:
        q = np.asarray(queries, np.float32)
        if not len(q) or not len(index):
            return no_matches(len(q))
        def block(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            sims = rows @ index.T  # (c, N) cosines
            return sims, sims >= threshold

        return chunked_search(q, len(index), chunk, block, closer_is_higher=True)

    @staticmethod
    def concat(parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)


def encode_png(img: Image.Image) -> bytes:
    """Lossless bytes of a PIL image (tests and the benchmark build inputs with it)."""
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
