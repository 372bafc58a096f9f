"""The two-tower model: image and text towers, optional linear heads, a learnable temperature (and, for the
sigmoid objective, a learnable logit bias)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from litlab.models.image_towers import ImageTower
from litlab.models.text_towers import TextTower


class TwoTower(nn.Module):
    """zimg = normalize(head(image_tower(x))), ztxt = normalize(head(text_tower(t))), both (B, D).

    ``locked`` names the towers kept frozen and in eval mode (see ``litlab.models.locking``). ``logit_scale`` is
    t' (t = exp(t'), capped at 100); ``logit_bias`` is b of the sigmoid objective (``bias_init`` given), else None.
    """

    def __init__(self, image: ImageTower, text: TextTower, *, image_head: bool, text_head: bool,
                 embed_dim: int | None = None, temperature_init: float = 10.0, bias_init: float | None = None) -> None:
        super().__init__()
        self.image, self.text = image, text
        dim = embed_dim or (image.feature_dim if not image_head else text.feature_dim)
        if not image_head and image.feature_dim != dim:
            raise ValueError(f"without an image head the embedding size is the image tower's ({image.feature_dim}), "
                             f"not {dim}")
        if not text_head and text.feature_dim != dim:
            raise ValueError(f"text.head=false needs text features of size {dim}, got {text.feature_dim}; "
                             "enable text.head")
        self.embed_dim = dim
        self.image_head = nn.Linear(image.feature_dim, dim) if image_head else nn.Identity()
        self.text_head = nn.Linear(text.feature_dim, dim) if text_head else nn.Identity()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(temperature_init)))  # log space
        self.logit_bias = None if bias_init is None else nn.Parameter(torch.tensor(float(bias_init)))  # ()
        self.locked: frozenset[str] = frozenset()

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and "image" not in self.locked):
            feats = self.image(images)  # (B, F_img)
        return F.normalize(self.image_head(feats), dim=-1)  # (B, D)

    def encode_text(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and "text" not in self.locked):
            feats = self.text(ids, mask)  # (B, F_txt)
        return F.normalize(self.text_head(feats), dim=-1)  # (B, D)

    def forward(self, images: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor):
        """(zimg, ztxt, t, b): (B, D), (B, D), () and () or None (no bias: the softmax objective)."""
        zimg = self.encode_image(images)  # (B, D)
        ztxt = self.encode_text(ids, mask)  # (B, D)
        return zimg, ztxt, self.logit_scale.exp().clamp(max=100.0), self.logit_bias

    def train(self, mode: bool = True) -> TwoTower:
        super().train(mode)
        for name in self.locked:  # locked towers keep BatchNorm statistics and dropout frozen
            getattr(self, name).eval()
        return self
