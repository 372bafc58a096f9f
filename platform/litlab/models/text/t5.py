"""T5-style text towers: a randomly initialised transformers ``T5EncoderModel``, mean-pooled over real tokens.

T5 has no absolute positions: the first layer learns one attention bias per head and relative-distance bucket
(32 bidirectional buckets, log-spaced up to 128 tokens) that every layer adds to its attention logits.
Pre-norm RMS LayerNorm blocks, ReLU MLP and dropout 0.1 as in the original T5 (v1.0); the encoder's final
norm is applied before pooling.
Sizes follow the T5 encoders: small = T5-small's (512-d, 6 layers, 8 heads), base = T5-base's.
"""

from __future__ import annotations

import torch
from torch import nn

from litlab.models.text.base import TextTower, TowerSize

T5_SIZES: dict[str, TowerSize] = {
    "tiny": TowerSize(width=128, layers=2, heads=2, mlp=512),
    "small": TowerSize(width=512, layers=6, heads=8, mlp=2048),  # T5-small encoder
    "base": TowerSize(width=768, layers=12, heads=12, mlp=3072),  # T5-base encoder
}
T5_HEAD_DIM = 64  # d_kv in every T5 size


class T5Tower(TextTower):
    """A transformers T5EncoderModel whose token states are mean-pooled over the mask."""

    pooling = "mean"

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.t5 = encoder
        self.feature_dim = encoder.config.d_model

    def encode_tokens(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.t5(input_ids=ids, attention_mask=mask.long()).last_hidden_state  # (B, T, F)


def build_t5(size: TowerSize, vocab_size: int) -> T5Tower:
    """A randomly initialised T5 encoder of ``size``; relative positions, so any sequence length works."""
    from transformers import T5Config, T5EncoderModel

    config = T5Config(vocab_size=vocab_size, d_model=size.width, d_kv=T5_HEAD_DIM, d_ff=size.mlp,
                      num_layers=size.layers, num_heads=size.heads, feed_forward_proj="relu", use_cache=False)
    return T5Tower(T5EncoderModel(config))
