"""The search every dedup method shares: ``Matches`` (what a batch of tuning images matched among the evaluation
images) and ``chunked_search``, brute force over (chunk, N_eval) blocks of scores that never holds more than
``BLOCK`` scores at once and gives the same result for any ``chunk``. The methods' own scores: ``methods``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BLOCK = 1 << 22  # most scores held at once by a search: (chunk rows) x N_eval <= 4M (32 MB of uint64 distances)


@dataclass(frozen=True)
class Matches:
    """What a batch of tuning images matched among the N evaluation images."""

    best: np.ndarray  # (Q,) int64: the closest evaluation image within the threshold, -1 when none
    score: np.ndarray  # (Q,) float64: its Hamming distance (phash), cosine (embedding) or 0 (exact); nan if none
    hits: list[np.ndarray]  # Q arrays of int64: every evaluation image within the threshold, ascending

    @property
    def matched(self) -> np.ndarray:
        return self.best >= 0


def no_matches(n: int) -> Matches:
    return Matches(np.full(n, -1, np.int64), np.full(n, np.nan), [np.zeros(0, np.int64) for _ in range(n)])


def rows_per_chunk(n_eval: int, chunk: int | None) -> int:
    """Query rows per search block: ``chunk`` when given, else as many as BLOCK scores allow."""
    if chunk is not None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1 query rows, got {chunk}")
        return chunk
    return max(1, BLOCK // max(n_eval, 1))


def _block_matches(scores: np.ndarray, hit: np.ndarray, closer_is_higher: bool) -> tuple[np.ndarray, ...]:
    """(best index or -1, its score, hit rows, hit cols) of a (c, N) block of scores and its hit mask."""
    pick = np.argmax(scores, axis=1) if closer_is_higher else np.argmin(scores, axis=1)
    rows = np.arange(len(scores))
    found = hit[rows, pick]  # the closest is a hit whenever any is
    best = np.where(found, pick, -1).astype(np.int64)
    score = np.where(found, scores[rows, pick].astype(np.float64), np.nan)
    hit_rows, hit_cols = np.nonzero(hit)
    return best, score, hit_rows, hit_cols


def _split_hits(n: int, rows: np.ndarray, cols: np.ndarray) -> list[np.ndarray]:
    bounds = np.searchsorted(rows, np.arange(n + 1))
    return [cols[bounds[i]:bounds[i + 1]].astype(np.int64) for i in range(n)]


def chunked_search(q: np.ndarray, n_index: int, chunk: int,
                   block: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], *, closer_is_higher: bool) -> Matches:
    """Queries against the whole index a block of rows at a time (bounded memory); ``block(rows)`` gives the
    (c, N) scores and hits of those rows."""
    step = rows_per_chunk(n_index, chunk)
    best, score, rows, cols = [], [], [], []
    for start in range(0, len(q), step):
        scores, hits = block(q[start:start + step])
        b, s, r, c = _block_matches(scores, hits, closer_is_higher=closer_is_higher)
        best.append(b)
        score.append(s)
        rows.append(r + start)
        cols.append(c)
    return Matches(np.concatenate(best), np.concatenate(score),
                   _split_hits(len(q), np.concatenate(rows), np.concatenate(cols)))
