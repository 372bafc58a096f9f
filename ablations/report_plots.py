"""Curves of a study (e.g. Figure 3's zero-shot top-1 vs steps, one line per setting) as PNG, with matplotlib Agg:
the mean over seeds as a line, its 95 % band over seeds shaded where a point has >= 2 seeds."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only, never a window

from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from ablations.report_model import Plot  # noqa: E402


def figure(plot: Plot) -> Figure:
    """One line (with markers, so single points show) per series, and its band."""
    fig = Figure(figsize=(6.4, 4.2), dpi=120)
    ax = fig.add_subplot()
    for s in plot.series:
        xs, ys = zip(*s.points, strict=True)
        (line,) = ax.plot(xs, ys, marker="o", label=s.label)
        if s.low:
            low, high = np.asarray(s.low, float), np.asarray(s.high, float)  # (points,)
            has = np.isfinite(low) & np.isfinite(high)
            if has.any():
                ax.fill_between(xs, np.where(has, low, ys), np.where(has, high, ys), where=has, interpolate=True,
                                color=line.get_color(), alpha=0.2, linewidth=0)
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
