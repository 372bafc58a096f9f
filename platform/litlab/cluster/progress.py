"""Evaluations reach Tune while a cell trains, so that Tune's schedulers (ASHA) can stop a hopeless cell early.

A Train run inside a Tune trial has no direct line to Tune: its workers are other processes (Ray Train V2's
``TuneReportCallback`` forwards only collective ``ray.train.report`` calls, each costing a controller poll, and
deadlocked here with two trials at once). So one ``Progress`` actor per sweep (no CPU) carries them: rank 0 puts
each intermediate evaluation (fire and forget), and the trial function, which runs ``fit`` in a thread, takes them
every ``POLL_S`` and reports them with ``tune.report`` (with ``step``, the schedulers' time attribute), in order,
each step once (a restarted attempt evaluates the same steps again). The trial's last report, after the cell's
run closed, carries ``FINISHED_KEY``: a trial whose last result lacks it was stopped by the scheduler.

When a scheduler stops a trial, Tune ends the trial actor; the Train controller it started and the controller's
workers, Ray Data and helper actors are owned by it and end with it (tests/system/test_early_stop.py checks that no
Train worker outlives a stopped trial, ray-project/ray#54305).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

import ray

POLL_S = 0.5
FINISHED_KEY = "cell_finished"  # in a trial's last report only: the cell's run closed FINISHED
T = TypeVar("T")


@ray.remote(num_cpus=0)
class Progress:
    """Intermediate evaluations of a sweep's cells, from rank 0 to their trial function."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[tuple[int, dict[str, float]]]] = defaultdict(list)

    def put(self, cell: str, step: int, metrics: dict[str, float]) -> None:
        self._waiting[cell].append((step, metrics))

    def take(self, cell: str) -> list[tuple[int, dict[str, float]]]:
        return self._waiting.pop(cell, [])


def new_progress() -> Any:
    return Progress.remote()


def fit_reporting(fit: Callable[[], T], progress: Any, cell: str) -> T:
    """Run ``fit()`` in a thread; meanwhile report every evaluation of ``cell`` to Tune as it arrives (with no
    ``progress`` actor: just ``fit()``)."""
    if progress is None:
        return fit()
    from ray import tune  # here: Train workers import this module for ``numeric``, and need no Tune
    reported = -1
    with ThreadPoolExecutor(1, thread_name_prefix="fit") as pool:
        future = pool.submit(fit)
        while True:
            done = future.done()
            for step, metrics in sorted(ray.get(progress.take.remote(cell)), key=lambda item: item[0]):
                if step > reported:
                    tune.report({**numeric(metrics), "step": step})
                    reported = step
            if done:
                return future.result()
            wait([future], timeout=POLL_S)


def numeric(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
