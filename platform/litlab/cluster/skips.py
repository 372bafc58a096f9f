"""Counting the rows training drops (``transforms.SKIP_REASONS``) across Ray Data tasks, for MLflow.

Decode tasks run in many processes; each adds its batch's counts to one small actor owned by the trial (one for
a pack's cells, each counted under its own key: ``CellCounter``). Rank 0 reads the running totals when it logs, as
``data/skipped/<reason>`` metrics (cumulative rows dropped since this training process started). The counts the
shard builder recorded in ``_stats.json`` are logged once per run as ``data/build_skipped/<reason>``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ray

from litlab.data.shards import read_stats
from litlab.data.transforms import SKIP_REASONS, preprocess_batch


@ray.remote(num_cpus=0)
class SkipCounter:
    def __init__(self) -> None:
        self.totals: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, key: str, counts: dict[str, int]) -> None:
        self.totals[key].update(counts)

    def get(self, key: str) -> dict[str, int]:
        return dict(self.totals[key])


@dataclass(frozen=True)
class CellCounter:
    """One cell's counts in a shared SkipCounter (picklable: it travels to the decode tasks)."""

    actor: Any
    key: str


def new_counters(keys: Sequence[str]) -> list[CellCounter]:
    """One counter per key, all in one actor; it lives as long as the process that created it (the trial)."""
    actor = SkipCounter.remote()
    return [CellCounter(actor, key) for key in keys]


def counted_preprocess(batch: dict[str, Sequence], *, counter: CellCounter | None, **kwargs: Any) -> dict[str, Any]:
    """``preprocess_batch`` that reports what it dropped to ``counter`` (fire and forget)."""
    skipped: Counter[str] = Counter()
    out = preprocess_batch(batch, skipped=skipped, **kwargs)
    if skipped and counter is not None:
        counter.actor.add.remote(counter.key, dict(skipped))
    return out


def skip_metrics(counter: CellCounter | None, timeout_s: float = 5.0) -> dict[str, float]:
    """{data/skipped/<reason>: rows} for every reason (0 when none); empty when there is no counter or it does
    not answer in time."""
    if counter is None:
        return {}
    try:
        totals = ray.get(counter.actor.get.remote(counter.key), timeout=timeout_s)
    except (ray.exceptions.GetTimeoutError, ray.exceptions.RayActorError):
        return {}
    reasons = sorted({*SKIP_REASONS, *totals})
    return {f"data/skipped/{reason}": float(totals.get(reason, 0)) for reason in reasons}


def build_skip_metrics(split: str) -> dict[str, float]:
    """What the shard builder dropped from ``split`` ({data/build_skipped/<reason>: rows}); {} without stats."""
    try:
        stats = read_stats(split)
    except FileNotFoundError:
        return {}
    return {f"data/build_skipped/{reason}": float(n) for reason, n in sorted(stats.skipped.items())}
