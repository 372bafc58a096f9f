"""Image towers: timm backbones returning pooled features, normalising their own input.

Input is a uint8 or [0, 1] float batch (B, 3, H, W) or (B, H, W, 3); the tower applies the mean/std its
weights were trained with, so data pipelines and embedding caches never need to know the tower.
"""

from __future__ import annotations

import timm
import torch
from torch import nn

from litlab.zoo import IMAGENET_MEAN, IMAGENET_STD, ZOO


class ImageTower(nn.Module):
    def __init__(self, backbone: nn.Module, mean: tuple[float, ...], std: tuple[float, ...], name: str) -> None:
        super().__init__()
        self.backbone = backbone
        self.name = name
        self.feature_dim: int = backbone.num_features
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] == 3 and images.shape[1] != 3:
            images = images.permute(0, 3, 1, 2)  # (B, H, W, 3) -> (B, 3, H, W)
        x = images.float()
        if images.dtype == torch.uint8:
            x = x / 255.0
        x = (x - self.mean) / self.std
        return self.backbone(x)  # (B, F)


def known_image_archs() -> list[str]:
    return [n for n in ZOO.names() if ZOO.get(n).tower == "image"]


def check_image_arch(arch: str) -> None:
    if arch in known_image_archs() or timm.is_model(arch):
        return
    raise ValueError(
        f"unknown image tower {arch!r}; valid: {', '.join(known_image_archs())} (weights that ship here), "
        f"or any timm model name (weights from the hub), e.g. vit_base_patch16_224"
    )


def build_image_tower(arch: str, pretrained: bool) -> ImageTower:
    """A zoo name loads weights shipped in a package; any other timm name loads from timm's hub when pretrained."""
    check_image_arch(arch)
    if arch in known_image_archs():
        from litlab.models.ports import load_ported_model

        entry = ZOO.get(arch)
        if pretrained:
            backbone = load_ported_model(arch, num_classes=0)
        else:
            backbone = timm.create_model(entry.arch, pretrained=False, num_classes=0)
        return ImageTower(backbone, entry.mean, entry.std, arch)
    backbone = timm.create_model(arch, pretrained=pretrained, num_classes=0)
    cfg = backbone.pretrained_cfg or {}
    return ImageTower(backbone, tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD)), arch)
