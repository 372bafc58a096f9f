"""Image embeddings of a frozen image side, computed once and reused (in memory, and on disk when given a folder).

The image side is frozen when the image tower is locked (setup letter L) and the image head, if any, has no
trainable parameters: then an evaluation set's image embeddings are the same at every evaluation of a run, in
every trial that shares the tower, and in later sweeps. Entries are keyed by a fingerprint of the image side's
weights and buffers plus the exact image array (shape and bytes), so a different tower, resolution,
preprocessing or subset can never be served stale embeddings. Files are written atomically (temp + rename).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def image_side_frozen(model: torch.nn.Module) -> bool:
    """True when nothing that produces zimg can change: a locked image tower and no trainable image head."""
    locked = "image" in getattr(model, "locked", ())
    head = getattr(model, "image_head", None)
    return locked and head is not None and not any(p.requires_grad for p in head.parameters())


def weights_sha1(*modules: torch.nn.Module) -> hashlib._Hash:
    """sha1 over the modules' parameters and buffers (names and bytes, in order); update it further if needed."""
    h = hashlib.sha1()
    for module in modules:
        for name, t in module.state_dict().items():
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h


def fingerprint(model: torch.nn.Module, images: np.ndarray) -> str:
    """sha1 of the image tower and head (parameters and buffers, in order) and of the images."""
    h = weights_sha1(model.image, model.image_head)
    h.update(str((images.shape, images.dtype)).encode())
    h.update(np.ascontiguousarray(images).data)
    return h.hexdigest()


class ImageEmbeddingCache:
    """``get(model, images, compute)``: the cached (N, D) embeddings, or ``compute()`` stored for next time."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder).expanduser() if folder else None
        self._memory: dict[str, torch.Tensor] = {}
        self.hits = self.misses = 0

    def get(self, model: torch.nn.Module, images: np.ndarray, compute: Callable[[], torch.Tensor],
            write: bool = True) -> torch.Tensor:
        if not image_side_frozen(model):
            return compute()
        key = fingerprint(model, images)
        if key in self._memory:
            self.hits += 1
            return self._memory[key]
        path = self.folder / f"{key}.npy" if self.folder else None
        if path is not None and path.is_file():
            self.hits += 1
            zimg = torch.from_numpy(np.load(path))
        else:
            self.misses += 1
            zimg = compute()
            if path is not None and write:
                _save_atomic(path, zimg.detach().cpu().numpy())
        self._memory[key] = zimg
        return zimg


def _save_atomic(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
