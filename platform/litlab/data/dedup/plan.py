"""A run's deduplication as data: mode, method, threshold, the evaluation sets, and the split it trains on.

``plan_for(cfg)`` resolves ``data.dedup``, ``data.dedup_method`` and ``data.dedup_threshold`` (0 = the
method's default) against ``eval.evals`` and raises ``ConfigError`` (listing the valid choices) on anything
wrong, before any cluster work. The filtered tuning set is a sibling split under ``data.root`` named
``<data.train>-dedup-<mode>-<method>-<threshold>-<sets>``, e.g. ``train-dedup-test-phash-2-3f9c2a71`` (mode
``train+test`` is written ``traintest``; ``<sets>`` is a digest of the evaluation sets and their roots other
than data.root, so runs evaluating on different sets never share or overwrite a split). Its ``_dedup.json``
records ``identity()``: a split is reused only when that matches, including the source split's
``_stats.json`` and the shard-split evaluation sets' (so rebuilding either invalidates it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from litlab import storage
from litlab.config import ConfigError, RunConfig
from litlab.data.dedup.evalsets import MODES, EvalSource, dedup_sources, fingerprint
from litlab.data.dedup.methods import DedupMethod, get_method
from litlab.data.shards import STATS
from litlab.registry import UnknownNameError

MANIFEST = "_dedup.json"
VERSION = 1  # bump when the matching rules change: older splits are then rebuilt
MODE_TAGS = {"test": "test", "train+test": "traintest"}


@dataclass(frozen=True)
class DedupPlan:
    mode: str  # test | train+test
    method: str
    threshold: float  # resolved: never 0 for phash/embedding
    root: str  # data.root
    train: str  # the source split
    sources: tuple[EvalSource, ...]

    @property
    def digest(self) -> str:
        text = json.dumps([[s.name, None if s.root == self.root else s.root, s.role] for s in self.sources])
        return hashlib.sha1(text.encode()).hexdigest()[:8]

    @property
    def split(self) -> str:
        """The filtered split's folder name under data.root."""
        return f"{self.train}-dedup-{MODE_TAGS[self.mode]}-{self.method}-{self.threshold:g}-{self.digest}"

    def make_method(self, **options: Any) -> DedupMethod:
        return get_method(self.method, **options)

    def identity(self) -> dict[str, Any]:
        """What must match for a built split to be reused (read from the source and evaluation splits)."""
        source = storage.join(self.root, self.train, STATS)
        stats = json.loads(storage.read_text(source)) if storage.is_file(source) else None
        return {"version": VERSION, "mode": self.mode, "method": self.method, "threshold": self.threshold,
                "train": self.train,
                "train_stats": None if stats is None else {k: stats.get(k) for k in ("rows", "bytes", "files")},
                "eval_sets": [{"name": s.name, "root": s.root, "role": s.role, "shards": fingerprint(s)}
                              for s in self.sources]}


def plan_for(cfg: RunConfig) -> DedupPlan | None:
    """The run's plan, or None for ``data.dedup=none``; ConfigError on a bad mode, method, threshold or set."""
    data = cfg.data
    if data.dedup not in MODES:
        raise ConfigError(f"bad value {data.dedup!r} for 'data.dedup'; valid: {', '.join(MODES)}")
    try:
        method = get_method(data.dedup_method)
    except UnknownNameError as err:
        raise ConfigError(f"data.dedup_method: {err}") from None
    try:
        threshold = method.check_threshold(float(data.dedup_threshold))
    except ValueError as err:
        raise ConfigError(f"data.dedup_threshold: {err}") from None
    if data.dedup == "none":
        return None
    try:
        sources = dedup_sources(cfg.eval.evals, data.dedup, data.root)
    except (ValueError, UnknownNameError) as err:
        raise ConfigError(f"eval.evals: {err}") from None
    return DedupPlan(data.dedup, data.dedup_method, threshold, data.root, data.train, tuple(sources))


def check_config(cfg: RunConfig) -> None:
    """Fail fast (ConfigError listing the valid choices) on bad dedup settings; nothing is read."""
    plan_for(cfg)

