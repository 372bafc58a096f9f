"""Image <-> text retrieval recall@k with several captions per image (the COCO / Flickr30k protocol).

Image -> text: each image queries all captions; it is found at k when ANY of its captions is among its
top-k texts. Text -> image: each caption queries all images on its own; it is found at k when its image is
among its top-k images. Recalls are fractions in [0, 1].

Tie rule (pessimistic, deterministic): among equal scores the wrong items rank first. The rank of a query's
answer is the number of wrong items that score at least as high as its best right item (0 = first place), and
the query is found at k when that rank is < k. A collapsed model whose scores are all equal therefore scores 0,
never 1. Similarities are computed in blocks of ``chunk_size`` query rows, so memory stays bounded for
10k images x 50k captions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from litlab.tokenizers import Tokenize


def _check_inputs(zimg: torch.Tensor, ztxt: torch.Tensor, caption_to_image: torch.Tensor) -> None:
    if zimg.ndim != 2 or ztxt.ndim != 2 or zimg.shape[1] != ztxt.shape[1]:
        raise ValueError(f"zimg (N, D) and ztxt (M, D) must share D; got {tuple(zimg.shape)} and {tuple(ztxt.shape)}")
    if caption_to_image.shape != (ztxt.shape[0],):
        raise ValueError(f"caption_to_image must be ({ztxt.shape[0]},); got {tuple(caption_to_image.shape)}")
    if len(caption_to_image) and (caption_to_image.min() < 0 or caption_to_image.max() >= zimg.shape[0]):
        raise ValueError(f"caption_to_image must index images 0..{zimg.shape[0] - 1}")
    uncaptioned = torch.ones(zimg.shape[0], dtype=torch.bool, device=zimg.device)
    uncaptioned[caption_to_image] = False
    if uncaptioned.any():
        missing = uncaptioned.nonzero().flatten()[:10].tolist()
        raise ValueError(f"{int(uncaptioned.sum())} images have no caption (first: {missing})")


def i2t_ranks(zimg: torch.Tensor, ztxt: torch.Tensor, caption_to_image: torch.Tensor,
              chunk_size: int = 1024) -> torch.Tensor:
    """(N,) rank of each image's best caption: wrong captions scoring >= it (pessimistic ties)."""
    ranks = []
    for start in range(0, zimg.shape[0], chunk_size):
        rows = torch.arange(start, min(start + chunk_size, zimg.shape[0]), device=zimg.device)  # (B,)
        sim = zimg[rows] @ ztxt.T  # (B, M)
        right = caption_to_image[None, :] == rows[:, None]  # (B, M)
        best = sim.masked_fill(~right, float("-inf")).amax(1)  # (B,)
        ranks.append(((sim >= best[:, None]) & ~right).sum(1))  # (B,)
    return torch.cat(ranks)


def t2i_ranks(zimg: torch.Tensor, ztxt: torch.Tensor, caption_to_image: torch.Tensor,
              chunk_size: int = 1024) -> torch.Tensor:
    """(M,) rank of each caption's image: other images scoring >= it (pessimistic ties)."""
    ranks = []
    for start in range(0, ztxt.shape[0], chunk_size):
        rows = torch.arange(start, min(start + chunk_size, ztxt.shape[0]), device=ztxt.device)  # (B,)
        sim = ztxt[rows] @ zimg.T  # (B, N)
        target = caption_to_image[rows]  # (B,)
        right = sim.gather(1, target[:, None])  # (B, 1)
        ranks.append((sim >= right).sum(1) - 1)  # (B,) minus the right image itself
    return torch.cat(ranks)


def retrieval_metrics(zimg: torch.Tensor, ztxt: torch.Tensor, caption_to_image: torch.Tensor,
                      ks: Sequence[int] = (1, 5, 10), chunk_size: int = 1024) -> dict[str, float]:
    """Recall@k both ways, keys ``i2t_r{k}`` and ``t2i_r{k}``; embeddings are L2-normalised here again."""
    caption_to_image = torch.as_tensor(caption_to_image, dtype=torch.long, device=zimg.device)
    _check_inputs(zimg, ztxt, caption_to_image)
    zimg, ztxt = F.normalize(zimg, dim=-1), F.normalize(ztxt, dim=-1)  # (N, D), (M, D)
    i2t = i2t_ranks(zimg, ztxt, caption_to_image, chunk_size)  # (N,)
    t2i = t2i_ranks(zimg, ztxt, caption_to_image, chunk_size)  # (M,)
    out = {f"i2t_r{k}": (i2t < k).double().mean().item() for k in ks}
    out |= {f"t2i_r{k}": (t2i < k).double().mean().item() for k in ks}
    return out


@torch.no_grad()
def text_embeddings(model, captions: Sequence[str], tokenize: Tokenize, batch_size: int = 256,
                    device: str | torch.device = "cpu") -> torch.Tensor:
    """(M, D) from captions, tokenized and encoded in batches."""
    chunks = []
    for i in range(0, len(captions), batch_size):
        tok = tokenize(list(captions[i:i + batch_size]))
        chunks.append(model.encode_text(torch.from_numpy(tok.ids).to(device), torch.from_numpy(tok.mask).to(device)))
    return torch.cat(chunks)

