"""Chance levels of litlab's evaluators, computed from the evaluation set's shape.

Definition used everywhere: **random scoring**, the expected metric of a model whose scores carry no
information, i.e. every query ranks its candidates in a uniformly random order (continuous scores, so no
ties). That is the level a model "with no signal" sits at. It is *not* the majority-class baseline (always
predict the most frequent class, top-1 = max_c share of c): a zero-shot classifier scores classes through
text embeddings and has no way to learn the label prior, so on an imbalanced set the majority rate overstates
what "no signal" looks like; on a balanced set both are 1/C for top-1.

The evaluators' own rules (litlab.evaluators) and what each gives under random scoring:

- zero-shot top-k, C class columns: the true class is among k of C uniformly ranked classes: min(k, C) / C
  (the evaluator caps top-5 at k = min(5, C)). Mean per-class recall: each class's top-1 recall has
  expectation 1/C, and so has their mean (over the classes present in the labels).
- retrieval image -> text, image i with c_i of all M captions: found at k when ANY of its captions is in its
  top k, i.e. when fewer than k wrong captions outrank its best caption (pessimistic ties, which random
  continuous scores never produce). P = 1 - C(M - c_i, k) / C(M, k) (no right caption among the first k of a
  random order: hypergeometric), averaged over images.
- retrieval text -> image, N images: each caption has one right image: min(k, N) / N.
- cross-style image -> image, Nt targets, one right target per query: min(k, Nt) / Nt.
- few-shot probe top-1 with C classes: 1 / C.
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


def _positive(name: str, value: int) -> int:
    try:
        count = operator.index(value)
    except TypeError:
        count = 0
    if count < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return count


def topk_chance(k: int, classes: int) -> float:
    """Zero-shot top-k accuracy of random scoring over ``classes`` classes: min(k, C) / C."""
    k, classes = _positive("k", k), _positive("classes", classes)
    return min(k, classes) / classes


def mean_per_class_recall_chance(classes: int) -> float:
    """Zero-shot mean per-class recall (top-1) of random scoring: 1 / C."""
    return topk_chance(1, classes)


def fewshot_chance(classes: int) -> float:
    """Few-shot linear-probe top-1 of a classifier with no signal: 1 / C."""
    return topk_chance(1, classes)


def t2i_recall_chance(k: int, images: int) -> float:
    """Text -> image recall@k of random scoring, ``images`` candidates, one right: min(k, N) / N."""
    return topk_chance(k, images)


def crossstyle_recall_chance(k: int, targets: int) -> float:
    """Cross-style image -> image recall@k of random scoring, ``targets`` candidates, one right: min(k, Nt) / Nt."""
    return topk_chance(k, targets)


def i2t_recall_chance(k: int, captions_per_image: Sequence[int]) -> float:
    """Image -> text recall@k of random scoring: mean over images of 1 - C(M - c_i, k) / C(M, k), M = sum c_i.

    ``captions_per_image`` is c_i per image (``np.bincount(caption_to_image)``); every image needs >= 1."""
    k = _positive("k", k)
    counts = [int(c) for c in captions_per_image]
    if not counts or min(counts) < 1:
        raise ValueError(f"captions_per_image needs >= 1 caption for each of >= 1 images, got {counts[:10]}")
    total = sum(counts)
    ways = math.comb(total, k)  # k-subsets of the M captions; 0 when k > M
    if ways == 0:
        return 1.0  # every caption is within the first k
    by_count = Counter(counts)
    misses = sum(n * math.comb(total - c, k) / ways for c, n in by_count.items())  # expected images missed
    return 1.0 - misses / len(counts)


@dataclass(frozen=True)
class SetShape:
    """What a chance level depends on: class count (zero-shot, few-shot), captions per image (retrieval; the
    image count is its length), target count (cross-style)."""

    classes: int | None = None
    captions_per_image: tuple[int, ...] | None = None
    targets: int | None = None


def _need(value, field: str, metric: str):
    if value is None:
        raise ValueError(f"chance of {metric!r} needs SetShape.{field}")
    return value


def chance_of(metric: str, shape: SetShape) -> float:
    """The chance level of a logged metric ``<evaluator>/<set>/<name>`` (the keys EvalSuite logs)."""
    evaluator, _, rest = metric.partition("/")
    name = rest.partition("/")[2]
    if evaluator == "zeroshot" and (m := re.fullmatch(r"top(\d+)", name)):
        return topk_chance(int(m[1]), _need(shape.classes, "classes", metric))
    if evaluator == "zeroshot" and name == "mean_per_class_recall":
        return mean_per_class_recall_chance(_need(shape.classes, "classes", metric))
    if evaluator == "retrieval" and (m := re.fullmatch(r"(i2t|t2i)_r(\d+)", name)):
        caps = _need(shape.captions_per_image, "captions_per_image", metric)
        return i2t_recall_chance(int(m[2]), caps) if m[1] == "i2t" else t2i_recall_chance(int(m[2]), len(caps))
    if evaluator == "crossstyle" and (m := re.fullmatch(r"r(\d+)", name)):
        return crossstyle_recall_chance(int(m[1]), _need(shape.targets, "targets", metric))
    if evaluator == "fewshot" and re.fullmatch(r"\d+shot/top1", name):
        return fewshot_chance(_need(shape.classes, "classes", metric))
    raise ValueError(f"no chance level for {metric!r}; valid: zeroshot/<set>/top<k>, "
                     "zeroshot/<set>/mean_per_class_recall, retrieval/<set>/i2t_r<k>, retrieval/<set>/t2i_r<k>, "
                     "crossstyle/<set>/r<k>, fewshot/<set>/<n>shot/top1")
