"""Turn a source's listed items (paths, bytes or pixel arrays) into a LabelledEvalSet or a RetrievalSet.

Loaders list what their source holds, already cut down to the ``max_images`` they keep; these functions
decode the images and drop whatever belongs to an image that failed, so labels and captions stay aligned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from litlab.evaluators.sets.images import Item, decode_all, merge_skipped
from litlab.evaluators.sets.types import LabelledEvalSet, RetrievalSet


def build_labelled(name: str, items: Sequence[Item], labels: Sequence[int] | np.ndarray,
                   classnames: Sequence[str], size: int, skipped: Mapping[str, int] | None = None) -> LabelledEvalSet:
    """Labelled set of the items that decode; ``skipped`` adds what the loader dropped before decoding."""
    if len(items) != len(labels):
        raise ValueError(f"{name}: {len(items)} images but {len(labels)} labels")
    decoded = decode_all(items, size, name)
    labels = np.asarray(labels, dtype=np.int64)[decoded.kept]  # (K,)
    return LabelledEvalSet(decoded.images, labels, tuple(classnames), name=name,
                           skipped=merge_skipped(skipped or {}, decoded.skipped))


def build_retrieval(name: str, items: Sequence[Item], captions: Sequence[Sequence[str]], size: int,
                    skipped: Mapping[str, int] | None = None) -> RetrievalSet:
    """Retrieval set: ``captions[i]`` are image i's captions; images without any caption are counted, not kept."""
    if len(items) != len(captions):
        raise ValueError(f"{name}: {len(items)} images but {len(captions)} caption lists")
    cleaned = [[c.strip() for c in caps if c and c.strip()] for caps in captions]
    captioned = [i for i, caps in enumerate(cleaned) if caps]
    decoded = decode_all([items[i] for i in captioned], size, name)
    texts: list[str] = []
    owner: list[int] = []
    for new, pos in enumerate(decoded.kept):
        caps = cleaned[captioned[pos]]
        texts.extend(caps)
        owner.extend([new] * len(caps))
    extra = {"no_caption": len(items) - len(captioned)}
    return RetrievalSet(decoded.images, tuple(texts), np.asarray(owner, dtype=np.int64), name=name,
                        skipped=merge_skipped(skipped or {}, extra, decoded.skipped))
