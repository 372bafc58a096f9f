"""What a study's report is made of: tables of text and numbers with intervals, notes, curves; and the registry of
study builders."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from litlab.registry import Registry
from litlab.stats import Estimate
from litlab.stats.format import fmt_estimate

from ablations.paper import PaperTable
from ablations.report_groups import Group

Scale = Literal["linear", "log2"]


@dataclass(frozen=True)
class Value:
    """A measured number in a table: its estimate (mean, 95 % interval, n), shown ``scale`` times (100: percent)."""

    est: Estimate
    scale: float = 100.0
    digits: int = 1

    def text(self) -> str:
        """E.g. "73.1 ± 2.4 (n=3)", "12.0 [9.1, 15.3] (1 run, 1000 items)" (litlab.stats.format)."""
        return fmt_estimate(self.est, self.scale, self.digits)

    def fields(self) -> tuple[str, str, str, str]:
        """(mean, low, high, n) as csv text, scaled; low and high empty without an interval."""
        def shown(v: float) -> str:
            return "" if math.isnan(v) else f"{v * self.scale:.{self.digits + 2}f}"
        return shown(self.est.mean), shown(self.est.low), shown(self.est.high), str(self.est.n)


TableCell = str | Value


def text_of(cell: TableCell) -> str:
    return cell.text() if isinstance(cell, Value) else cell


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[TableCell, ...], ...]  # text (labels, FAILED, -) or a Value, one per column

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.title!r}: row {row} has {len(row)} cells, "
                                 f"not one per column ({len(self.columns)})")

    def text_rows(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(text_of(c) for c in row) for row in self.rows)

    def numeric(self) -> tuple[bool, ...]:
        """Per column: whether it holds measured numbers (a Value in any row)."""
        return tuple(any(isinstance(row[i], Value) for row in self.rows) for i in range(len(self.columns)))


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[float, float], ...]  # (x, y), sorted by x: the mean over seeds
    low: tuple[float, ...] = ()  # per point, the band's bounds (95 % t over seeds; nan where n < 2); () = no band
    high: tuple[float, ...] = ()
    n: tuple[int, ...] = ()  # seeds behind each point


@dataclass(frozen=True)
class Plot:
    name: str  # file stem, e.g. "towers" -> towers.png
    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...]
    xscale: Scale = "linear"
    legend: str = ""  # the legend's title, e.g. "setting"


@dataclass(frozen=True)
class StudyReport:
    study: str
    title: str  # e.g. "Figure 3 — tower settings"
    tables: tuple[Table, ...]  # the first is ours with the paper beside; the rest are the paper's for reference
    notes: tuple[str, ...] = ()  # findings, measured checks, caveats, failed and missing cells
    plots: tuple[Plot, ...] = ()
    more: tuple[tuple[str, Table], ...] = ()  # further tables of ours, each with its csv's file stem

    def ours(self) -> tuple[Table, ...]:
        """Our tables: the first one, then ``more``'s."""
        return (self.tables[0], *(t for _, t in self.more))


StudyBuilder = Callable[[Sequence[Group]], StudyReport]

STUDY_TABLES: Registry[StudyBuilder] = Registry("study table")


def paper_reference(table: PaperTable, note: str = "") -> Table:
    """A paper table as a reference table, its source in the title."""
    title = f"Paper, {table.source}: {table.title}" + (f" ({note})" if note else "")
    return Table(title, ("paper row", *table.columns), tuple((r.label, *r.texts()) for r in table.rows))
