"""Curves of a study (e.g. Figure 3's zero-shot top-1 vs steps, one line per setting) as PNG, with matplotlib Agg."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from ablations.report_model import Plot  # noqa: E402


def figure(plot: Plot) -> Figure:
    """One line (with markers, so single points show) per series."""
    fig = Figure(figsize=(6.4, 4.2), dpi=120)
    ax = fig.add_subplot()
    for s in plot.series:
        xs, ys = zip(*s.points, strict=True)
        ax.plot(xs, ys, marker="o", label=s.label)
    if plot.xscale == "log2":  # batch sizes: doubling steps, labelled as plain numbers
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({x for s in plot.series for x, _ in s.points}))
        ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set(title=plot.title, xlabel=plot.xlabel, ylabel=plot.ylabel)
    ax.grid(True, alpha=0.3)
    if plot.series:
        ax.legend(title=plot.legend or None)
    fig.tight_layout()
    return fig


def save_png(plot: Plot, folder: Path) -> Path:
    path = folder / f"{plot.name}.png"
    figure(plot).savefig(path, format="png")
    return path
