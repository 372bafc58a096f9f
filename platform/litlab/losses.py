"""Softmax contrastive loss (image->text and text->image), over every worker's negatives or each worker's own.

Pure torch: the all-gather and this worker's rank are arguments, so the same function runs in one process,
under torch.distributed, or in tests. The sigmoid objective lives beside it in ``litlab.losses_sigmoid``.

- ``negatives="global"`` (the paper's default): with ``gather`` (which must keep gradients, see
  ``litlab.distributed.all_gather_with_grad``) each worker scores its B rows against all W*B columns; averaged
  over workers (DDP) this equals the loss, and gradients, of one process on the concatenated batch. (This is what
  open_clip calls ``--local-loss``: local rows, global columns.)
- ``negatives="worker"`` (paper Appendix F, the per-device loss it compares against): each worker scores its B rows
  against its own B columns only; ``gather`` is not used. Averaged over workers this is the mean of W
  single-process losses, one per worker's batch: fewer negatives per positive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

import torch
import torch.nn.functional as F

from litlab.config import Negatives

Gather = Callable[[torch.Tensor], torch.Tensor]


def check_negatives(negatives: str) -> None:
    if negatives not in get_args(Negatives):
        raise ValueError(f"unknown negatives {negatives!r} (optim.negatives); valid: {', '.join(get_args(Negatives))}")


def contrastive_loss(zimg: torch.Tensor, ztxt: torch.Tensor, logit_scale: torch.Tensor,
                     gather: Gather | None = None, rank: int = 0, negatives: Negatives = "global") -> torch.Tensor:
    """zimg, ztxt: (B, D) L2-normalised local embeddings; row i of each is a matching pair."""
    check_negatives(negatives)
    if negatives == "worker":
        gather, rank = None, 0  # negatives: this worker's own batch only
    all_img = gather(zimg) if gather else zimg  # (W*B, D)
    all_txt = gather(ztxt) if gather else ztxt  # (W*B, D)
    b = zimg.shape[0]
    labels = torch.arange(b, device=zimg.device) + rank * b  # (B,) positions of the positives
    logits_i2t = logit_scale * zimg @ all_txt.T  # (B, W*B)
    logits_t2i = logit_scale * ztxt @ all_img.T  # (B, W*B)
    return 0.5 * (F.cross_entropy(logits_i2t, labels) + F.cross_entropy(logits_t2i, labels))
