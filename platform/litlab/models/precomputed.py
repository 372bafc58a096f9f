"""Training a locked image tower from precomputed embeddings (paper Appendix G): the tower is never loaded.

When the image tower is locked (setup letter L), has no trainable head and the train transform is deterministic
(``data.crop_area_min = 1``: a plain resize, no flip), every image's embedding is the same at every step, so it
can be computed once (``litlab.cluster.precompute``) and read from disk. The model then carries a
``PrecomputedImageTower``: features in (B, F), features out, no parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from litlab.config import RunConfig


class PrecomputedImageTower(nn.Module):
    """Stands in for a locked image tower whose pooled features (B, F) arrive with the batch."""

    def __init__(self, feature_dim: int, name: str) -> None:
        super().__init__()
        self.feature_dim, self.name = feature_dim, f"{name} (precomputed)"

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 2 or features.shape[1] != self.feature_dim:
            raise ValueError(f"{self.name} expects cached features (B, {self.feature_dim}), got "
                             f"{tuple(features.shape)}; is the batch from the embedding cache?")
        return features.float()  # (B, F)


def precompute_problem(cfg: RunConfig) -> str | None:
    """Why ``train.precompute`` cannot be used with this config, or None when it can."""
    if cfg.image_letter != "L":
        return f"setup {cfg.setup!r} trains the image tower (letter {cfg.image_letter!r}); precompute needs L"
    if cfg.image.head:
        return "image.head=true adds a trainable image head on top of the cached features"
    if cfg.optim.unlock_image_at > 0:
        return f"optim.unlock_image_at={cfg.optim.unlock_image_at} unlocks the image tower during training"
    if cfg.data.crop_area_min < 1.0:
        return f"data.crop_area_min={cfg.data.crop_area_min} crops randomly; precompute needs 1.0 (a plain resize)"
    return None
