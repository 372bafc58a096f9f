"""The evaluation index (built once, then broadcast) and matching tuning rows against it, batch by batch.

``build_eval_index(sources, method, threshold)`` reads every evaluation set's images (or hash columns) in
batches into one ``EvalIndex``: keys ``<set>:<key>`` and the method's prepared features. ``match_batch``
is the body of the per-row match (Ray Data's ``map_batches`` calls it on each block of tuning rows): it
returns only the rows that matched, with the key of their closest evaluation image and every evaluation
image within the threshold. ``DedupResult`` adds batches up into the two counts of the paper's Table 5:
tuning images removed, and evaluation images matched by at least one of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from litlab.data.dedup.evalsets import EvalSource, eval_batches
from litlab.data.dedup.methods import DedupMethod, Matches, get_method
from litlab.progress import Rate

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SetInfo:
    name: str
    root: str | None
    role: str
    images: int  # images indexed
    unreadable: int  # images that could not be read (never matched)


@dataclass(frozen=True)
class EvalIndex:
    """Evaluation images as one method sees them. Picklable: the cluster broadcasts it with ray.put."""

    method: str
    threshold: float
    keys: np.ndarray  # (N,) object: "<set>:<key>"
    index: Any  # the method's prepared features (dict of sha1 -> rows, uint64 hashes, or (N, F) float32)
    sets: tuple[SetInfo, ...] = ()

    def __len__(self) -> int:
        return len(self.keys)

    def search(self, method: DedupMethod, features: Any, ok: np.ndarray, chunk: int | None = None) -> Matches:
        """Matches of (Q) tuning features; rows whose image could not be read (``ok`` False) match nothing."""
        found = method.search(self.index, features, self.threshold, chunk)
        if ok.all():
            return found
        empty = np.zeros(0, np.int64)
        return Matches(np.where(ok, found.best, -1), np.where(ok, found.score, np.nan),
                       [h if k else empty for h, k in zip(found.hits, ok, strict=True)])


def build_eval_index(sources: Sequence[EvalSource], method: DedupMethod, threshold: float, *,
                     batch_size: int = 256, progress: Progress = lambda s: None) -> EvalIndex:
    """Every source's images, featurised by ``method``, in one index (unreadable images left out, counted)."""
    keys: list[np.ndarray] = []
    feats: list[Any] = []
    infos = []
    for source in sources:
        tic = time.perf_counter()
        n = bad = 0
        rate = Rate(f"dedup: indexing {source.label}", unit="images", say=progress)
        for batch in eval_batches(source, method.columns, batch_size):
            f, ok = method.features(batch)
            rate.add(len(ok))
            keys.append(np.asarray(batch["key"], dtype=object)[ok])
            feats.append(f[ok])
            n += int(ok.sum())
            bad += int((~ok).sum())
        infos.append(SetInfo(source.name, source.root, source.role, n, bad))
        progress(f"dedup: {source.label} ({source.role}): {n} images indexed by {method.name}"
                 f"{f', {bad} unreadable' if bad else ''} ({time.perf_counter() - tic:.1f} s)")
    all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=object)
    return EvalIndex(method.name, threshold, all_keys, method.prepare(method.concat(feats)), tuple(infos))


def match_batch(batch: Mapping[str, Sequence[Any]], method: DedupMethod, index: EvalIndex,
                chunk: int | None = None) -> dict[str, np.ndarray]:
    """The tuning rows of ``batch`` (key plus the method's columns) that match: {key, eval (the closest
    evaluation key), score, hits (every matched evaluation row, int64 bytes)}."""
    features, ok = method.features(batch)
    found = index.search(method, features, ok, chunk)
    rows = np.flatnonzero(found.matched)
    keys = np.asarray(batch["key"], dtype=object)
    return {"key": keys[rows].astype(object),
            "eval": index.keys[found.best[rows]].astype(object) if len(rows) else np.zeros(0, dtype=object),
            "score": found.score[rows].astype(np.float64),
            "hits": np.array([found.hits[i].astype(np.int64).tobytes() for i in rows], dtype=object)}


@dataclass
class DedupResult:
    """Matches added up over the tuning set."""

    n_eval: int
    tune_rows: int = 0
    removed: dict[str, tuple[str, float]] = field(default_factory=dict)  # tuning key -> (closest eval key, score)
    eval_hit: np.ndarray | None = None  # (N_eval,) bool: matched by at least one tuning image

    def __post_init__(self) -> None:
        if self.eval_hit is None:
            self.eval_hit = np.zeros(self.n_eval, bool)

    def add(self, matched: Mapping[str, Sequence[Any]], rows: int = 0) -> None:
        """Add the output of ``match_batch`` (and the number of tuning rows it came from)."""
        self.tune_rows += rows
        for key, ev, score, hits in zip(matched["key"], matched["eval"], matched["score"], matched["hits"],
                                        strict=True):
            self.removed[str(key)] = (str(ev), float(score))
            self.eval_hit[np.frombuffer(hits, np.int64)] = True

    @property
    def tune_removed(self) -> int:
        return len(self.removed)

    @property
    def eval_matched(self) -> int:
        return int(self.eval_hit.sum())

    def counts(self) -> dict[str, int]:
        return {"tune_rows": self.tune_rows, "tune_removed": self.tune_removed, "eval_matched": self.eval_matched}


def dedup_rows(batches: Iterable[Mapping[str, Sequence[Any]]], index: EvalIndex, method: DedupMethod | None = None,
               chunk: int | None = None) -> DedupResult:
    """The whole match in one process: tuning batches (key + the method's columns) against ``index``."""
    method = method or get_method(index.method)
    result = DedupResult(len(index))
    for batch in batches:
        result.add(match_batch(batch, method, index, chunk), rows=len(batch["key"]))
    return result
