"""Where a trial's time goes: training segments and evaluations as wall-clock intervals (plain Python, no Ray).

A trial's rank 0 records, in epoch seconds, each stretch of optimizer steps (``time/train_from`` ..
``time/train_to``, logged at the step that ends it: a stretch starts when the first batch of the run, or the step
after an evaluation or checkpoint, begins) and each evaluation (``time/eval_from``, ``time/eval_s``). With the
trial's start and end, ``trial_breakdown`` splits its wall time into start-up (trial start -> first step), training,
evaluation, pauses (checkpoints) and shut-down (last step -> trial end); ``sweep_breakdown`` gives the training
fraction of a sweep: the union of every trial's training stretches (trials may overlap) over the sweep's wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
Interval = tuple[float, float]
Emit = Callable[[int, dict[str, float]], None]  # (step, metrics): rank 0's logger, or nothing


class Timeline:
    """Records one worker's training stretches and evaluations; ``emit`` logs each as it closes."""

    def __init__(self, emit: Emit, clock: Callable[[], float] = time.time) -> None:
        self.emit, self.clock = emit, clock
        self.segments: list[Interval] = []
        self.evals: list[Interval] = []
        self._open: float | None = None
        self._closed_at: int | None = None  # the step the last stretch ended at

    def batches(self, batches: Iterable[T]) -> Iterator[T]:
        """Pass batches through; the first stretch starts when the first batch is in hand."""
        for batch in batches:
            if self._open is None and not self.segments:
                self._open = self.clock()
            yield batch

    def close(self, step: int) -> None:
        """End the open stretch (if any) after ``step`` completed steps. One that ran no step (reopened after a
        pause at this same step: an evaluation and a checkpoint at one step) is dropped, so each step logs once."""
        if self._open is None:
            return
        seg, self._open = (self._open, self.clock()), None
        if self._closed_at == step:
            return
        self.segments.append(seg)
        self._closed_at = step
        self.emit(step, {"time/train_from": seg[0], "time/train_to": seg[1]})

    @contextmanager
    def pause(self, step: int, evaluation: bool = False) -> Iterator[None]:
        """Stop the clock of training around an evaluation or a checkpoint; training resumes after it if it ran
        before (an evaluation after the last step does not reopen a stretch)."""
        was_open = self._open is not None
        self.close(step)
        tic = self.clock()
        try:
            yield
        finally:
            toc = self.clock()
            if evaluation:
                self.evals.append((tic, toc))
                self.emit(step, {"time/eval_from": tic, "time/eval_s": toc - tic})
            if was_open:
                self._open = toc


def union_length(intervals: Iterable[Interval]) -> float:
    """Total length covered by the intervals (overlaps counted once)."""
    total, end = 0.0, float("-inf")
    for lo, hi in sorted(intervals):
        if hi <= end:
            continue
        total += hi - max(lo, end)
        end = hi
    return total


@dataclass(frozen=True)
class TrialTimes:
    """One trial's recorded times (epoch seconds): from its MLflow run's ``time/*`` metric histories."""

    cell: str
    start: float  # the trial function's first line (time/trial_start)
    end: float  # the cell's MLflow run closed (its end_time)
    segments: tuple[Interval, ...]  # training stretches
    evals: tuple[Interval, ...]  # evaluations (the final one included)
    worker_start: float | None = None  # rank 0's train function began (time/worker_start)
    model_built: float | None = None  # rank 0's model was built (time/model_built)


@dataclass(frozen=True)
class TrialBreakdown:
    cell: str
    startup_s: float  # trial start -> first step
    train_s: float  # inside training stretches
    eval_s: float  # evaluations
    other_s: float  # between stretches, not evaluating (checkpoints)
    shutdown_s: float  # last step -> trial end, less the final evaluation
    wall_s: float
    to_workers_s: float = float("nan")  # of the start-up: trial start -> rank 0 runs (Train controller, workers)
    model_s: float = float("nan")  # of the start-up: building the model

    @property
    def fixed_s(self) -> float:
        """The fixed cost of a trial: start-up plus shut-down (evaluations apart)."""
        return self.startup_s + self.shutdown_s


def trial_breakdown(t: TrialTimes) -> TrialBreakdown:
    if not t.segments:
        raise ValueError(f"trial {t.cell} recorded no training stretch (time/train_from, time/train_to)")
    first, last = min(s[0] for s in t.segments), max(s[1] for s in t.segments)
    train = sum(hi - lo for lo, hi in t.segments)
    evals_in = sum(hi - lo for lo, hi in t.evals if hi <= last)
    evals_after = sum(hi - lo for lo, hi in t.evals if hi > last)
    nan = float("nan")
    return TrialBreakdown(cell=t.cell, startup_s=first - t.start, train_s=train, eval_s=evals_in + evals_after,
                          other_s=(last - first) - train - evals_in, shutdown_s=t.end - last - evals_after,
                          wall_s=t.end - t.start,
                          to_workers_s=t.worker_start - t.start if t.worker_start else nan,
                          model_s=t.model_built - t.worker_start if t.model_built and t.worker_start else nan)


@dataclass(frozen=True)
class SweepBreakdown:
    wall_s: float
    train_union_s: float  # union of every trial's training stretches
    trials_union_s: float  # union of the trials' own spans (start -> end)
    trials: tuple[TrialBreakdown, ...]

    @property
    def training_fraction(self) -> float:
        return self.train_union_s / self.wall_s

    @property
    def between_trials_s(self) -> float:
        """Sweep time when no trial function ran at all (Tune scheduling, trial actors starting and stopping)."""
        return self.wall_s - self.trials_union_s

    def mean(self, field: str) -> float:
        return sum(getattr(t, field) for t in self.trials) / len(self.trials)


def sweep_breakdown(trials: Sequence[TrialTimes], wall_s: float) -> SweepBreakdown:
    return SweepBreakdown(wall_s=wall_s, train_union_s=union_length(s for t in trials for s in t.segments),
                          trials_union_s=union_length((t.start, t.end) for t in trials),
                          trials=tuple(trial_breakdown(t) for t in trials))
