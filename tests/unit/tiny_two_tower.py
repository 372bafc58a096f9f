"""The tiny two-tower model the loop and optimizer tests train, and the batches they feed it (no tests here):
many CPU steps a second."""

from __future__ import annotations

import torch
from litlab.models.locking import apply_setup
from litlab.models.two_tower import TwoTower
from torch import nn


class TinyImage(nn.Module):
    """(B, 4, 4, 3) uint8 -> (B, 8): a linear layer and BatchNorm (so train/eval mode matters)."""

    feature_dim = 8

    def __init__(self) -> None:
        super().__init__()
        self.proj, self.norm = nn.Linear(48, 8), nn.BatchNorm1d(8)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(images.float().flatten(1) / 255))  # (B, 8)


class TinyText(nn.Module):
    """(B, T) ids -> (B, 8): masked mean of token embeddings, dropout (so seeds matter), a linear layer."""

    feature_dim = 8

    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.embed, self.drop, self.proj = nn.Embedding(32, 8), nn.Dropout(dropout), nn.Linear(8, 8)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).float()  # (B, T, 1)
        return self.proj(self.drop((self.embed(ids) * m).sum(1) / m.sum(1).clamp_min(1)))  # (B, 8)


def tiny_model(setup: str = "uu", dropout: float = 0.2, bias_init: float | None = None) -> TwoTower:
    """A two-tower model small enough for many CPU steps a second; the same weights on every call. ``bias_init``
    gives it the sigmoid objective's logit bias."""
    torch.manual_seed(0)
    model = TwoTower(TinyImage(), TinyText(dropout), image_head=True, text_head=True, embed_dim=8, bias_init=bias_init)
    return apply_setup(model, setup)


def batch_at(step: int, rows: int = 8) -> dict[str, torch.Tensor]:
    """The batch of one step: deterministic, so a resumed run can be fed the same data."""
    g = torch.Generator().manual_seed(1000 + step)
    return {"image": torch.randint(0, 256, (rows, 4, 4, 3), generator=g, dtype=torch.uint8),
            "ids": torch.randint(1, 32, (rows, 5), generator=g), "mask": torch.ones(rows, 5, dtype=torch.long)}
