"""Replicate groups: the runs of one setting at its several seeds, which every table cell and verdict summarises.

A group is the study's expected cells that share a replicate group (litlab.grid.replicate_group: the cell id
without its seed), in plan order. Its value of a metric is the per-seed values of its finished replicates;
``estimate`` turns them into mean and 95 % interval (litlab.stats.summarize: t over seeds when n >= 2, else a
bootstrap over the evaluation items the run logged as ``items/<metric>``, else no interval).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from litlab.evaluators.facts import fact_key
from litlab.grid import SEED_KEY
from litlab.stats import Estimate, summarize

from ablations.report_cells import CellResult, Settings, Status


@dataclass(frozen=True)
class Group(Settings):
    """One setting of a study: its replicates (one CellResult per seed), in plan order."""

    id: str  # the replicate group, e.g. "setup=Lu,optim.steps=300"
    replicates: tuple[CellResult, ...]

    @property
    def cell(self) -> str:
        return self.id

    @property
    def overrides(self) -> Mapping[str, Any]:
        """The setting's plan overrides (the replicates' seeds left out: they are not part of the setting)."""
        return {k: v for k, v in self.replicates[0].overrides.items() if k != SEED_KEY}

    @property
    def finished(self) -> tuple[CellResult, ...]:
        return tuple(c for c in self.replicates if c.status == "finished")

    @property
    def status(self) -> Status:
        """finished when any seed finished; else failed when one failed, stopped when a scheduler stopped one,
        missing otherwise."""
        if self.finished:
            return "finished"
        for status in ("failed", "stopped"):
            if any(c.status == status for c in self.replicates):
                return status
        return "missing"

    def setting(self, key: str) -> str | None:
        """A config value as text, from the first replicate that knows it (the seed differs, the setting not)."""
        return next((v for c in self.replicates if (v := c.setting(key)) is not None), None)

    def values(self, name: str) -> tuple[float, ...]:
        """The metric's value in each finished replicate that logged it (one per seed)."""
        return tuple(v for c in self.finished if (v := c.metric(name)) is not None)

    def fact(self, kind: str, name: str) -> float | None:
        """A logged ``chance/<name>`` or ``items/<name>`` (litlab.evaluators.facts), from the first run with it."""
        return next((v for c in self.finished if (v := c.metric(fact_key(kind, name))) is not None), None)

    def estimate(self, name: str) -> Estimate | None:
        """Mean and interval of the metric over the seeds; None when no finished replicate logged it."""
        values = self.values(name)
        if not values:
            return None
        items = self.fact("items", name) if len(values) == 1 else None
        try:
            return summarize(values, items=None if items is None else int(items))
        except ValueError:  # a value that is not a whole number of hits of the logged items: no interval
            return summarize(values)

    def histories(self, name: str) -> list[list[tuple[int, float]]]:
        """Each finished replicate's logged evaluations of ``name`` during training, (step, value) by step."""
        return [h for c in self.finished if (h := c.history(name))]

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(c.error for c in self.replicates if c.status == "failed")

    @property
    def stopped(self) -> tuple[CellResult, ...]:
        """The replicates a scheduler stopped (``--scheduler asha``): never a result, never a best lr."""
        return tuple(c for c in self.replicates if c.status == "stopped")

    @property
    def run_ids(self) -> tuple[str, ...]:
        return tuple(c.run_id for c in self.finished)


def group_cells(cells: Sequence[CellResult]) -> list[Group]:
    """The cells gathered by replicate group, groups in the order their first cell comes."""
    groups: dict[str, list[CellResult]] = {}
    for c in cells:
        groups.setdefault(c.group, []).append(c)
    return [Group(group, tuple(members)) for group, members in groups.items()]


def estimates(groups: Mapping[str, Group], name: str) -> dict[str, Estimate]:
    """Setting -> its estimate of ``name``, for the settings that have one."""
    return {label: e for label, g in groups.items() if (e := g.estimate(name)) is not None}


def chance_level(groups: Sequence[Group], name: str) -> float | None:
    """The metric's chance level as the runs logged it (the highest, should sets have differed); None if none did."""
    levels = [v for g in groups if (v := g.fact("chance", name)) is not None and math.isfinite(v)]
    return max(levels) if levels else None
