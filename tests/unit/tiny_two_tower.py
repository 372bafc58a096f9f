"""The tiny two-tower model the loop and optimizer tests train (no tests here): many CPU steps a second."""

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


def tiny_model(setup: str = "uu", dropout: float = 0.2) -> TwoTower:
    """A two-tower model small enough for many CPU steps a second; the same weights on every call."""
    torch.manual_seed(0)
    model = TwoTower(TinyImage(), TinyText(dropout), image_head=True, text_head=True, embed_dim=8)
    return apply_setup(model, setup)
