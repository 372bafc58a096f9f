"""How every benchmark reports a figure, and how `make bench` (experiments/bench.py) reads it back. Not a script.

A benchmark calls ``report(name, values, goal=..., unit=...)`` once per headline figure, with every value it
measured (one per alternated repeat): it prints the median, the min-max and how many values are behind them, then
one machine-readable line (``MARK`` + json) that the bench runner collects. ``parse`` reads those lines back from a
run's output; ``summarise`` turns a figure's values over several runs into median and min-max; ``met`` says whether
a median meets a goal written as ``">= 1.0"`` or ``"<= 1.2"``. ``alternate`` runs the sides of a side-by-side
comparison in alternated order (A B, B A, ...), so that the machine's drift falls on every side alike, and ``paired``
gives the ratios of two sides repeat by repeat.
"""

from __future__ import annotations

import json
import math
import operator
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

MARK = "@figure "
GOAL = re.compile(r"^\s*(>=|<=)\s*([-+]?[0-9.]+(?:e[-+]?\d+)?)\s*$")
OPS = {">=": operator.ge, "<=": operator.le}
T = TypeVar("T")


@dataclass(frozen=True)
class Figure:
    """One figure of one benchmark run: every value behind it (its repeats), the goal and the unit."""

    name: str
    values: tuple[float, ...]
    goal: str = ""
    unit: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)


def spread(values: Sequence[float], fmt: str = ".2f", unit: str = "") -> str:
    """'median<unit> [min-max], n values' ('value<unit> (1 value)' when there is one)."""
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:{fmt}}{unit} (1 value)"
    return f"{med:{fmt}}{unit} [{min(values):{fmt}}-{max(values):{fmt}}], {len(values)} values"


def report(name: str, values: Sequence[float], *, goal: str = "", unit: str = "", fmt: str = ".2f") -> Figure:
    """Print the figure's median, min-max and count (and its goal), then its ``MARK`` line; returns it."""
    if not values:
        raise ValueError(f"figure {name!r} has no values")
    if goal:
        check_goal(goal)
    fig = Figure(name, tuple(float(v) for v in values), goal, unit)
    print(f"{name}: {spread(fig.values, fmt, unit)}{f' (goal {goal}{unit})' if goal else ''}", flush=True)
    print(MARK + json.dumps({"name": name, "values": list(fig.values), "goal": goal, "unit": unit}), flush=True)
    return fig


def alternate(sides: Sequence[str], repeats: int, run: Callable[[str], T], label: str,
              shown: Callable[[T], float] = float, unit: str = " pairs/s") -> dict[str, list[T]]:
    """Each side's ``run(side)`` results over ``repeats`` rounds, the order reversed every other round; prints a line
    per round (``label``, then each side's latest ``shown(result)`` with ``unit``)."""
    got: dict[str, list[T]] = {side: [] for side in sides}
    for r in range(repeats):
        for side in sides if r % 2 == 0 else sides[::-1]:
            got[side].append(run(side))
        print(f"{label} repeat {r + 1}/{repeats}: "
              + ", ".join(f"{k} {shown(v[-1]):.1f}" for k, v in got.items()) + unit, flush=True)
    return got


def paired(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """a[i] / b[i] for each repeat i: the ratio of two sides measured in the same round."""
    return [x / y for x, y in zip(a, b, strict=True)]


def parse(output: str) -> list[Figure]:
    """Every figure a run printed with ``report``, in order; a malformed figure line raises, naming it."""
    figures = []
    for line in output.splitlines():
        at = line.find(MARK)
        if at < 0:
            continue
        text = line[at + len(MARK):].strip()
        try:
            d = json.loads(text)
            figures.append(Figure(str(d["name"]), tuple(float(v) for v in d["values"]), str(d.get("goal", "")),
                                  str(d.get("unit", ""))))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"malformed figure line {line!r}: {err}") from err
    return figures


@dataclass(frozen=True)
class Summary:
    """A figure over several runs of its benchmark: the median of each run's median, their min and max."""

    name: str
    median: float
    low: float
    high: float
    runs: int
    values_per_run: int  # how many values each run had behind its median (the smallest count)
    goal: str
    unit: str

    @property
    def met(self) -> bool | None:
        return met(self.median, self.goal)


def summarise(runs: Iterable[Sequence[Figure]]) -> list[Summary]:
    """One Summary per figure name, in the order the figures first appear; a run missing a figure adds nothing."""
    by_name: dict[str, list[Figure]] = {}
    for figs in runs:
        for f in figs:
            by_name.setdefault(f.name, []).append(f)
    out = []
    for name, figs in by_name.items():
        medians = [f.median for f in figs if not math.isnan(f.median)]
        if not medians:
            continue
        out.append(Summary(name, statistics.median(medians), min(medians), max(medians), len(medians),
                           min(len(f.values) for f in figs), figs[-1].goal, figs[-1].unit))
    return out


def check_goal(goal: str) -> tuple[str, float]:
    m = GOAL.match(goal)
    if not m:
        raise ValueError(f"goal {goal!r} is not '>= NUMBER' or '<= NUMBER'")
    return m[1], float(m[2])


def met(value: float, goal: str) -> bool | None:
    """Whether ``value`` meets ``goal`` (None without a goal)."""
    if not goal:
        return None
    op, bound = check_goal(goal)
    return OPS[op](value, bound)
