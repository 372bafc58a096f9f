"""What a study's report is made of: tables of text cells, notes, curves; and the registry of study builders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from litlab.registry import Registry

from ablations.paper import PaperTable
from ablations.report_cells import CellResult

Scale = Literal["linear", "log2"]


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]  # already formatted text, one per column

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.title!r}: row {row} has {len(row)} cells, "
                                 f"not one per column ({len(self.columns)})")


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[float, float], ...]  # (x, y), sorted by x


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


StudyBuilder = Callable[[Sequence[CellResult]], StudyReport]

STUDY_TABLES: Registry[StudyBuilder] = Registry("study table")


def paper_reference(table: PaperTable, note: str = "") -> Table:
    """A paper table as a reference table, its source in the title."""
    title = f"Paper, {table.source}: {table.title}" + (f" ({note})" if note else "")
    return Table(title, ("paper row", *table.columns), tuple((r.label, *r.texts()) for r in table.rows))
