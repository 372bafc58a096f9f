"""The ViT-style text transformer trained from scratch (LiT's "ViT" text tower; CLIP's, without the causal mask).

Token embeddings plus learned absolute position embeddings (one per position up to ``max_len``; both initialised
with std 1/sqrt(width) as in big_vision), pre-LayerNorm blocks (attention then GELU MLP of 4x width, no dropout),
a final LayerNorm, and pooling at the END token: the state at the last position where mask == 1.
Attention is BIDIRECTIONAL (as in LiT's big_vision text transformer): every real token sees every real token,
and pads are hidden from attention by a key-padding mask, so pad ids and trailing pads change nothing.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from litlab.models.text.base import TextTower, TowerSize

VIT_TEXT_SIZES: dict[str, TowerSize] = {
    "tiny": TowerSize(width=128, layers=2, heads=4, mlp=512),
    "small": TowerSize(width=384, layers=12, heads=6, mlp=1536),  # ViT-S
    "base": TowerSize(width=768, layers=12, heads=12, mlp=3072),  # ViT-B
}


class TextTransformer(TextTower):
    """Bidirectional pre-LN transformer, pooled at each row's last real token (the end token)."""

    pooling = "last"

    def __init__(self, vocab_size: int, max_len: int, size: TowerSize) -> None:
        super().__init__()
        self.feature_dim = size.width
        std = 1.0 / math.sqrt(size.width)
        self.embed = nn.Embedding(vocab_size, size.width)
        nn.init.normal_(self.embed.weight, std=std)
        self.pos = nn.Parameter(torch.randn(max_len, size.width) * std)  # (T_max, W)
        layer = nn.TransformerEncoderLayer(size.width, size.heads, size.mlp, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, size.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(size.width)

    def encode_tokens(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if ids.shape[1] > self.pos.shape[0]:
            raise ValueError(f"{ids.shape[1]} tokens but the tower has {self.pos.shape[0]} positions (text.max_len)")
        x = self.embed(ids) + self.pos[: ids.shape[1]]  # (B, T, W)
        real = mask != 0  # (B, T)
        ignored = ~real & real.any(1, keepdim=True)  # (B, T) an all-pad row attends everywhere, not to nothing
        return self.norm(self.encoder(x, src_key_padding_mask=ignored))  # (B, T, W)
