"""What the report's statistics need about an evaluation besides its scores: chance levels and item counts.

Each evaluator declares (``@evaluator(..., chance=..., counts=...)`` in litlab.evaluators.suite) which of its
metrics have a chance level and how to count its sets; the suite turns that into metrics logged beside the scores,
under their own prefixes so that nothing reads them as scores:

- ``chance/<evaluator>/<set>/<metric>``: the metric under random scoring (litlab.stats.chance_of, from the set's
  shape: classes, captions per image, targets), e.g. ``chance/zeroshot/fmnist-test/top1`` = 0.1;
- ``items/<evaluator>/<set>/<metric>``: how many evaluation items the metric is a hit fraction of (images for
  zero-shot top-k and image -> text, captions for text -> image, queries for cross-style). Declared only for
  metrics that are a mean of per-item 0/1 outcomes, the ones a single run can get a bootstrap interval over items
  for (mean per-class recall and few-shot accuracy averaged over draws are not).

Both are logged with every evaluation (at its step), like the scores they describe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from litlab.stats.chance import SetShape, chance_of

Fact = Literal["chance", "items"]
FACTS: tuple[Fact, ...] = ("chance", "items")


@dataclass(frozen=True)
class SetCounts:
    """One evaluation's sets, counted: their shape (for chance levels) and the items behind each metric."""

    shape: SetShape
    items: Mapping[str, int] = field(default_factory=dict)  # metric -> evaluation items it is a hit fraction of


CountFn = Callable[[list[Any]], SetCounts]  # an evaluator's sets -> SetCounts


def fact_key(fact: Fact, metric_key: str) -> str:
    """``chance`` + ``zeroshot/fmnist-test/top1`` -> ``chance/zeroshot/fmnist-test/top1``."""
    if fact not in FACTS:
        raise ValueError(f"unknown fact {fact!r}; valid: {', '.join(FACTS)}")
    return f"{fact}/{metric_key}"


def fact_metrics(prefix: str, chance: Sequence[str], counts: SetCounts) -> dict[str, float]:
    """The chance and items metrics of one evaluation whose scores are logged as ``<prefix>/<metric>``."""
    out = {fact_key("chance", f"{prefix}/{m}"): chance_of(f"{prefix}/{m}", counts.shape) for m in chance}
    out |= {fact_key("items", f"{prefix}/{m}"): float(n) for m, n in counts.items.items()}
    return out
