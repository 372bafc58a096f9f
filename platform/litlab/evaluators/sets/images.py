"""Many images -> one (N, size, size, 3) uint8 array with the evaluation transform; failures are counted.

An item is a file path, encoded bytes, or a decoded pixel array (H, W) / (H, W, 3) uint8. Every item goes
through the same eval transform as training-time evaluation (``litlab.data.transforms``: transparency
composited on white, RGB, bilinear resize to size x size). Unreadable items are skipped and counted by
reason (``missing_file``, ``corrupt_image``), never fatal, unless nothing at all could be read.

``subset`` picks the ``max_images`` evenly spaced over a source's deterministic order, so a quick run still
spans every class of a source listed class by class.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from litlab.data.transforms import load_image, resize

log = logging.getLogger(__name__)

Item = Path | bytes | np.ndarray


@dataclass(frozen=True)
class Decoded:
    images: np.ndarray  # (K, size, size, 3) uint8
    kept: np.ndarray  # (K,) int64: position in the input list of each decoded image
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count


def subset(n: int, max_images: int) -> np.ndarray:
    """(K,) int64 indices: all of 0..n-1 when max_images is 0 (or >= n), else max_images evenly spaced."""
    if max_images < 0:
        raise ValueError(f"max_images must be >= 0 (0 = all), got {max_images}")
    if max_images == 0 or max_images >= n:
        return np.arange(n, dtype=np.int64)
    return np.asarray([i * n // max_images for i in range(max_images)], dtype=np.int64)


def _one(item: Item, size: int) -> np.ndarray:
    """(size, size, 3) uint8 from a path, bytes or pixel array; raises on unreadable input."""
    if isinstance(item, np.ndarray):
        return resize(Image.fromarray(item).convert("RGB"), size)
    data = item.read_bytes() if isinstance(item, Path) else item
    return load_image(data, size)


def merge_skipped(*counts: Mapping[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(sorted((k, v) for k, v in total.items() if v))


def decode_all(items: Sequence[Item], size: int, source: str) -> Decoded:
    """Decode and resize every item; raises ValueError naming ``source`` only when none can be read."""
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    images, kept, skipped = [], [], Counter()
    for i, item in enumerate(items):
        try:
            images.append(_one(item, size))
        except FileNotFoundError:
            skipped["missing_file"] += 1
            continue
        except Exception:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError, ... for bad bytes
            skipped["corrupt_image"] += 1
            continue
        kept.append(i)
    if len(items) and not images:
        raise ValueError(f"{source}: none of its {len(items)} images could be read ({dict(skipped)})")
    if skipped:
        log.warning("%s: skipped %s of %d images", source, dict(skipped), len(items))
    out = np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)  # (K, size, size, 3)
    return Decoded(out, np.asarray(kept, dtype=np.int64), dict(sorted(skipped.items())))
