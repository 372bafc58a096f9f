"""The text-tower interface and its two pooling rules.

A tower encodes ids and mask (B, T) to per-token states (B, T, W) and pools them to features (B, W):

- ``"mean"``: the average of the states where ``mask == 1`` (an all-pad row pools to zeros).
- ``"last"``: the state at the last position where ``mask == 1`` (the end token; position 0 for an all-pad row).

Neither rule looks at a position where ``mask == 0``, so pad tokens, whatever their id, never change features, and
columns of padding at the end of a batch are not encoded at all (``trim_padding``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

import torch
from torch import nn

Pooling = Literal["mean", "last"]


class TowerSize(NamedTuple):
    """Width, depth, attention heads and MLP width of one transformer size."""

    width: int
    layers: int
    heads: int
    mlp: int


def mean_pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of ``tokens`` (B, T, W) over the real positions of ``mask`` (B, T) -> (B, W)."""
    m = mask.unsqueeze(-1).to(tokens.dtype)  # (B, T, 1)
    return (tokens * m).sum(1) / m.sum(1).clamp_min(1.0)  # (B, W)


def last_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last real position of each row of ``mask`` (B, T) -> (B,); 0 for an all-pad row."""
    positions = torch.arange(mask.shape[1], device=mask.device)  # (T,)
    return (positions * (mask != 0)).amax(1)  # (B,)


def last_token_pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """State of ``tokens`` (B, T, W) at each row's last real position (the end token) -> (B, W)."""
    rows = torch.arange(tokens.shape[0], device=tokens.device)  # (B,)
    return tokens[rows, last_index(mask)]  # (B, W)


POOLERS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mean": mean_pool,
    "last": last_token_pool,
}


class TextTower(nn.Module):
    """ids (B, T) long and mask (B, T) (1 = real token) -> features (B, feature_dim)."""

    feature_dim: int
    pooling: Pooling

    def encode_tokens(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-token states (B, T, feature_dim) before pooling."""
        raise NotImplementedError

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ids, mask = trim_padding(ids, mask)
        return POOLERS[self.pooling](self.encode_tokens(ids, mask), mask)  # (B, F)


def trim_padding(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ids and mask (B, T) without their trailing columns that are padding in every row: a batch of captions
    padded to text.max_len is encoded only up to its longest caption (the demo's captions: 5 tokens on average,
    batches of 16 at most 9 of 16). The features are the same (up to float rounding), since neither pooling rule
    nor any tower's attention reads a masked position; not where a row is all padding, which attends everywhere."""
    real = mask != 0  # (B, T)
    if ids.shape[1] <= 1 or not bool(real.any(1).all()):
        return ids, mask
    keep = int(real.any(0).nonzero().max()) + 1
    return (ids, mask) if keep == ids.shape[1] else (ids[:, :keep], mask[:, :keep])
