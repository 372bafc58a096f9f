"""Zero-shot classification: class embeddings from prompts, images scored by cosine similarity."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from litlab.evaluators.prompts import prompts
from litlab.evaluators.retrieval import text_embeddings
from litlab.progress import Rate
from litlab.tokenizers import Tokenize

Embed = Callable[[list[str]], torch.Tensor]  # texts -> (M, D) normalised text embeddings


@torch.no_grad()
def class_embeddings(model, classnames: Sequence[str], template_set: str, tokenize: Tokenize,
                     device: str | torch.device = "cpu", embed: Embed | None = None,
                     batch_size: int = 256) -> torch.Tensor:
    """(C, D): per class, the normalised mean of its prompts' normalised text embeddings.

    Every prompt of every class is embedded in batches of ``batch_size``, as captions are (``embed(texts)`` when
    given: the suite's, which spreads them over the workers): one text-tower call per batch, not one per class (171
    calls of one prompt each for the held-out emoji). The embeddings equal those of a call per class up to float32
    rounding (a batch's matrix products are blocked differently), and the metrics on the shipped sets are the
    same (tests/unit/test_zeroshot_batched.py)."""
    per_class = [prompts(name, template_set) for name in classnames]
    flat = [p for ps in per_class for p in ps]
    ztxt = embed(flat) if embed is not None else text_embeddings(model, flat, tokenize, batch_size, device)  # (C*T, D)
    out, start = [], 0
    for ps in per_class:
        out.append(F.normalize(ztxt[start:start + len(ps)].mean(0), dim=-1))  # (D,)
        start += len(ps)
    return torch.stack(out)  # (C, D)


@torch.no_grad()
def image_embeddings(model, images: np.ndarray, batch_size: int = 256,
                     device: str | torch.device = "cpu") -> torch.Tensor:
    """(N, D) from uint8 images (N, H, W, 3), in batches (a progress line every 10 s: a large set)."""
    rate = Rate("evaluation: embedding images", len(images), unit="images")
    chunks = []
    for i in range(0, len(images), batch_size):
        chunks.append(model.encode_image(torch.from_numpy(images[i:i + batch_size]).to(device)))
        rate.add(len(chunks[-1]))
    return torch.cat(chunks)


def classification_metrics(scores: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """top-1, top-5 and mean per-class recall from scores (N, C) and integer labels (N,)."""
    k = min(5, scores.shape[1])
    topk = scores.topk(k, dim=1).indices  # (N, k)
    top1 = topk[:, 0] == labels
    recalls = [top1[labels == c].float().mean() for c in labels.unique()]
    return {"top1": top1.float().mean().item(),
            "top5": (topk == labels[:, None]).any(1).float().mean().item(),
            "mean_per_class_recall": torch.stack(recalls).mean().item()}

