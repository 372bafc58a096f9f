"""litlab.timeline: training stretches, evaluations, and the sweep's training fraction from them."""

from __future__ import annotations

import pytest
from litlab.timeline import Timeline, TrialTimes, sweep_breakdown, trial_breakdown, union_length


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(clock: Clock, steps: int, eval_every: int) -> tuple[Timeline, list]:
    """What the Train worker does: steps of 1 s, evaluations of 5 s inside, a final evaluation of 5 s."""
    logged: list = []
    tl = Timeline(lambda step, m: logged.append((step, m)), clock)
    clock.now += 10  # start-up before the first batch
    for done in (i + 1 for i in tl.batches(range(steps))):
        clock.now += 1
        if done % eval_every == 0 and done < steps:
            with tl.pause(done, evaluation=True):
                clock.now += 5
    tl.close(steps)
    with tl.pause(steps, evaluation=True):
        clock.now += 5
    return tl, logged


def test_stretches_exclude_evaluations_and_the_final_one_reopens_nothing() -> None:
    clock = Clock()
    tl, logged = run(clock, steps=6, eval_every=2)
    assert tl.segments == [(110, 112), (117, 119), (124, 126)]
    assert tl.evals == [(112, 117), (119, 124), (126, 131)]
    assert [s for s, m in logged if "time/train_to" in m] == [2, 4, 6]
    assert [m["time/eval_s"] for _, m in logged if "time/eval_s" in m] == [5, 5, 5]


def test_an_evaluation_and_a_checkpoint_at_one_step_end_one_stretch() -> None:
    """Both pause the clock at step 2: the stretch between them ran no step and is not logged (each step once)."""
    clock, logged = Clock(), []
    tl = Timeline(lambda step, m: logged.append((step, m)), clock)
    for done in (i + 1 for i in tl.batches(range(4))):
        clock.now += 1
        if done == 2:
            with tl.pause(done, evaluation=True):
                clock.now += 5
            with tl.pause(done):
                clock.now += 3
    tl.close(4)
    assert [s for s, m in logged if "time/train_to" in m] == [2, 4]
    assert tl.segments == [(100, 102), (110, 112)]


def test_trial_breakdown_adds_up_to_the_trial_wall_time() -> None:
    clock = Clock()
    tl, _ = run(clock, steps=6, eval_every=2)
    t = TrialTimes("c", start=100.0, end=clock.now + 3, segments=tuple(tl.segments), evals=tuple(tl.evals))
    b = trial_breakdown(t)
    assert (b.startup_s, b.train_s, b.eval_s, b.other_s, b.shutdown_s) == (10, 6, 15, 0, 3)
    assert b.startup_s + b.train_s + b.eval_s + b.other_s + b.shutdown_s == pytest.approx(b.wall_s)
    assert b.fixed_s == 13


def test_checkpoint_pauses_count_as_other() -> None:
    clock = Clock()
    tl = Timeline(lambda *_: None, clock)
    for i in tl.batches(range(4)):
        clock.now += 1
        if i == 1:
            with tl.pause(2):
                clock.now += 2
    tl.close(4)
    b = trial_breakdown(TrialTimes("c", 100.0, clock.now, tuple(tl.segments), ()))
    assert (b.train_s, b.other_s, b.shutdown_s) == (4, 2, 0)


def test_union_counts_overlaps_once() -> None:
    assert union_length([]) == 0
    assert union_length([(0, 2), (1, 3), (5, 6), (5.5, 5.7)]) == 4
    assert union_length([(0, 10), (2, 3)]) == 10


def test_sweep_fraction_uses_the_union_of_concurrent_trials() -> None:
    a = TrialTimes("a", 0, 20, ((5, 15),), ())
    b = TrialTimes("b", 10, 30, ((12, 25),), ())
    s = sweep_breakdown([a, b], wall_s=40)
    assert s.train_union_s == 20 and s.training_fraction == 0.5
    assert s.trials_union_s == 30 and s.between_trials_s == 10
    assert s.mean("startup_s") == 3.5


def test_a_trial_without_training_is_named() -> None:
    with pytest.raises(ValueError, match="trial x recorded no training"):
        trial_breakdown(TrialTimes("x", 0, 1, (), ()))


def test_start_up_parts_when_rank_0_recorded_them():
    t = TrialTimes("c", 0, 30, ((20, 25),), (), worker_start=12, model_built=15)
    b = trial_breakdown(t)
    assert (b.startup_s, b.to_workers_s, b.model_s) == (20, 12, 3)
