"""One truthful metric history per run: the values of the attempts that produced the final model, each step once.

MLflow keeps every value ever logged (no per-value delete, neither in the client nor over REST), so values of an
attempt that is later discarded (killed after its last checkpoint) must never reach the names the report and the
UI read. Therefore, while a cell trains, rank 0 logs each value at once under its attempt's own names
(``attempt.<n>/train/loss``: what that attempt saw, live) and keeps it in a ``History``, which travels inside every
checkpoint. A restarted attempt continues the history of the checkpoint it restored, so the history of the final
checkpoint is exactly the lineage of the final model. When the run finishes, ``publish`` logs it under the
canonical names (``train/loss``), with the timestamps at which the values were computed; a publish interrupted by a
kill is completed by the next one and never logs a step twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import mlflow

from litlab.cluster.tracking import RunLogger, client

ATTEMPT_PREFIX = "attempt."
STEP = "step"  # attempt.<n>/step: the attempt's progress (its start, then every step it logged)


def attempt_key(attempt: int, key: str) -> str:
    return f"{ATTEMPT_PREFIX}{attempt}/{key}"


def is_attempt_key(key: str) -> bool:
    return key.startswith(ATTEMPT_PREFIX)


class History:
    """Metric values by name and step (the first value logged at a step is kept), and the lineage: which attempt
    produced the values from which step on, as ``[(attempt, start_step), ...]``."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        self.lineage: list[tuple[int, int]] = [(int(a), int(s)) for a, s in data.get("lineage", [])]
        self.values: dict[str, dict[int, tuple[float, int]]] = {
            k: {int(s): (float(v), int(t)) for s, v, t in points} for k, points in data.get("metrics", {}).items()}

    def begin(self, attempt: int, start_step: int) -> None:
        self.lineage.append((attempt, start_step))

    def add(self, step: int, metrics: dict[str, float], timestamp_ms: int) -> None:
        for k, v in metrics.items():
            self.values.setdefault(k, {}).setdefault(step, (float(v), timestamp_ms))

    def points(self) -> Iterator[tuple[str, int, float, int]]:
        """(key, step, value, timestamp ms), by key then step."""
        for k in sorted(self.values):
            for s in sorted(self.values[k]):
                yield k, s, *self.values[k][s]

    def to_dict(self) -> dict[str, Any]:
        metrics: dict[str, list[list[float]]] = {}
        for k, s, v, t in self.points():
            metrics.setdefault(k, []).append([s, v, t])
        return {"lineage": [list(x) for x in self.lineage], "metrics": metrics}

    def segments(self, last_step: int) -> list[tuple[int, int, int]]:
        """(attempt, first step exclusive, last step inclusive) of each lineage entry whose values are kept."""
        out = []
        for i, (attempt, start) in enumerate(self.lineage):
            end = self.lineage[i + 1][1] if i + 1 < len(self.lineage) else last_step
            out.append((attempt, start if i else -1, end))
        return out


class AttemptLogger:
    """Rank 0's logger for one attempt: every value goes live to ``attempt.<n>/<key>`` and into the history."""

    def __init__(self, uri: str, run_id: str, attempt: int, history: History) -> None:
        self.attempt, self.history, self.run = attempt, history, RunLogger(uri, run_id)
        self._progress = -1  # the last step logged under attempt.<n>/step

    def begin(self, start_step: int) -> None:
        self.history.begin(self.attempt, start_step)
        self.log(start_step, {})

    def log(self, step: int, metrics: dict[str, float]) -> None:
        now = int(time.time() * 1000)
        self.history.add(step, metrics, now)
        live = {attempt_key(self.attempt, k): v for k, v in metrics.items()}
        if step > self._progress:
            live[attempt_key(self.attempt, STEP)], self._progress = float(step), step
        self.run.log(step, live, timestamp_ms=now)


def publish(uri: str, run_id: str, history: History, finish_timeout_s: float = 120.0) -> int:
    """Log ``history`` under the canonical names, skipping every (name, step) already there (a publish cut short
    by a kill); returns how many values were logged. Waits for a server that is down, like ``RunLogger.finish``."""
    c = client(uri)
    present = set(c.get_run(run_id).data.metrics)
    have = {k: {m.step for m in c.get_metric_history(run_id, k)} for k in history.values if k in present}
    rows = [mlflow.entities.Metric(k, v, t, s) for k, s, v, t in history.points() if s not in have.get(k, ())]
    logger = RunLogger(uri, run_id, finish_timeout_s=finish_timeout_s)
    logger.send(rows)
    logger.flush_or_raise()
    return len(rows)
