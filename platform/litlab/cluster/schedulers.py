"""Tune schedulers for a sweep: ``fifo`` (every cell to its end) or ``asha`` (Ray Tune's ASHA, per group of cells).

ASHA compares a cell with the others of its group only: the cells that differ in nothing but the searched
hyperparameter (``SEARCHED``, the learning rate). Across a whole grid, one ASHA would stop every cell of a setting
whose scores are low for reasons of its own (a tower trained from scratch) and leave that setting with no best lr.
Its metric is the run's headline: the first zero-shot evaluation's top-1 (mode max); its time attribute is the
training step, its first rung ``eval.every`` (the first intermediate evaluation), its last ``optim.steps``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, get_args

from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, TrialScheduler

from litlab.config import ConfigError, RunConfig
from litlab.grid import Cell

SchedulerName = Literal["fifo", "asha"]
SCHEDULERS: tuple[str, ...] = get_args(SchedulerName)
SEARCHED = "optim.lr"  # the axis ASHA searches within a group
REDUCTION_FACTOR = 3  # ASHA keeps the top third of a group at each rung


def headline_metric(cfg: RunConfig) -> str:
    """The metric ASHA ranks cells by: ``<first zeroshot spec>/top1``."""
    for spec in cfg.eval.evals:
        evaluator, _, sets = spec.partition("@")[0].partition("/")
        if evaluator == "zeroshot":
            return f"zeroshot/{sets.split('+')[-1]}/top1"
    raise ConfigError(f"--scheduler asha ranks cells by a zero-shot top-1, but eval.evals has no zeroshot/ "
                      f"evaluation: {', '.join(cfg.eval.evals) or 'none'}; add one, or use --scheduler fifo")


def group_of(cell: Cell) -> str:
    """The cell's overrides but the searched one: cells of one group differ only in ``SEARCHED``."""
    return ",".join(f"{k}={v}" for k, v in cell.overrides if k != SEARCHED) or "all"


class PerGroup(FIFOScheduler):
    """One scheduler per group of trials (``group(trial.config)``), made by ``make`` on first use."""

    def __init__(self, name: str, make: Callable[[], TrialScheduler], group: Callable[[dict[str, Any]], str]) -> None:
        super().__init__()
        self.name, self._make, self._group = name, make, group
        self.groups: dict[str, TrialScheduler] = {}

    def of(self, trial: Any) -> TrialScheduler:
        key = self._group(trial.config)
        if key not in self.groups:
            self.groups[key] = self._make()
        return self.groups[key]

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return True  # each group's scheduler has its own metric and mode

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        self.of(trial).on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        self.of(trial).on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        return self.of(trial).on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> None:
        self.of(trial).on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        self.of(trial).on_trial_remove(tune_controller, trial)

    def debug_string(self) -> str:
        return f"{self.name} per group: " + "; ".join(f"{k}: {s.debug_string()}" for k, s in self.groups.items())


def build_scheduler(name: str, cells: Sequence[Cell]) -> PerGroup | None:
    """None for ``fifo``; for ``asha`` one AsyncHyperBandScheduler per group of ``cells`` (trial config
    ``{"cell": id}``). Cells that cannot be scheduled (no intermediate evaluation, several headlines) are a
    ConfigError naming the fix."""
    if name not in SCHEDULERS:
        raise ConfigError(f"unknown scheduler {name!r}; valid: {', '.join(SCHEDULERS)}")
    if name == "fifo" or not cells:
        return None
    metrics = {headline_metric(c.config) for c in cells}
    if len(metrics) > 1:
        raise ConfigError(f"--scheduler asha needs one headline metric for the sweep, its cells have "
                          f"{', '.join(sorted(metrics))}; run them as separate sweeps")
    no_evals = [c for c in cells if not 0 < c.config.eval.every < c.config.optim.steps]
    if no_evals:
        bad = no_evals[0]
        raise ConfigError(f"--scheduler asha stops cells at their intermediate evaluations, but cell {bad.id} has "
                          f"eval.every={bad.config.eval.every} with optim.steps={bad.config.optim.steps} (need "
                          f"0 < eval.every < optim.steps); set e.g. --set eval.every=20")
    groups = {c.id: group_of(c) for c in cells}
    metric = metrics.pop()
    grace = min(c.config.eval.every for c in cells)
    max_t = max(c.config.optim.steps for c in cells)
    return PerGroup("asha", lambda: AsyncHyperBandScheduler(
        time_attr="step", metric=metric, mode="max", max_t=max_t, grace_period=grace,
        reduction_factor=REDUCTION_FACTOR, stop_last_trials=False), lambda config: groups[config["cell"]])


def cell_groups(cells: Sequence[Cell]) -> Mapping[str, list[str]]:
    """group -> its cell ids (for the driver's log)."""
    out: dict[str, list[str]] = {}
    for c in cells:
        out.setdefault(group_of(c), []).append(c.id)
    return out


def scheduler_problem(name: str, cells: Sequence[Cell]) -> str | None:
    """For the preflight: what ``build_scheduler`` would refuse, or None."""
    try:
        build_scheduler(name, cells)
    except ConfigError as err:
        return str(err)
    return None
