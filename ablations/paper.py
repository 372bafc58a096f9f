"""The LiT paper's published numbers (percent), as data, each with the table or figure it comes from.

Source: Zhai et al., "LiT: Zero-Shot Transfer with Locked-image text Tuning", CVPR 2022 (arXiv 2111.07991 v3).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperNumber:
    value: float
    source: str  # e.g. "Table 2"
    what: str  # the paper's dataset / metric / model, as the reader should compare it


# Setting -> ImageNet zero-shot on the 3.6B-pair dataset (Table 2). Figure 3 has the same settings as curves only.
TABLE2_IMAGENET_ZEROSHOT = {
    "Lu": PaperNumber(70.1, "Table 2", "ImageNet 0-shot, 3.6B pairs"),
    "Uu": PaperNumber(57.2, "Table 2", "ImageNet 0-shot, 3.6B pairs"),
    "uu": PaperNumber(50.6, "Table 2", "ImageNet 0-shot, 3.6B pairs"),
}

FIGURE3_FINDINGS = (
    "Figure 3 (YFCC100m-CLIP, plot only): locking the image tower almost always works best for zero-shot; "
    "a pretrained image tower helps; a pretrained text tower helps only marginally; locking the text tower "
    "works badly."
)


def towers_reference(setup: str) -> PaperNumber | None:
    return TABLE2_IMAGENET_ZEROSHOT.get(setup)
