"""Study "precompute" (Table 7): training from precomputed image embeddings vs running the locked tower."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ablations import paper
from ablations.report_cells import CellResult
from ablations.report_model import STUDY_TABLES, StudyReport, Table, paper_reference
from ablations.report_values import (
    DASH,
    Keys,
    counted,
    dataset,
    other_settings,
    pct,
    rate,
    run_text,
    shown,
    status_notes,
)

SPEED = "train/pairs_per_s"
HARDWARE_NOTE = ("Speeds are not comparable across rows of different sources: ours are training pairs/s of the whole "
                 "run on this machine (CPU), the paper's Table 7 is images/s per core on 8 TPUv3 cores with ViT "
                 "image towers. Compare the speed-up ratios.")


def precomputed(cell: CellResult) -> bool:
    return (cell.setting("train.precompute") or "").strip().lower() in ("true", "1", "yes")


def pairs(cells: Sequence[CellResult]) -> dict[str, dict[bool, CellResult]]:
    """Model label (towers, plus other overrides) -> precomputed? -> cell."""
    out: dict[str, dict[bool, CellResult]] = {}
    for c in cells:
        others = other_settings(c, ("train.precompute",), cells)
        label = f"ours: {c.setting('image.arch') or '?'} + {c.setting('text.arch') or '?'}"
        out.setdefault(label + (f" ({others})" if others else ""), {})[precomputed(c)] = c
    return out


def speedup(pre: CellResult | None, not_: CellResult | None) -> str:
    """Speed precomputed / not, or why there is none."""
    for c in (pre, not_):
        if c is None or c.status == "missing":
            return DASH
        if c.status == "failed":
            return "FAILED"
    a, b = pre.metric(SPEED) if pre else None, not_.metric(SPEED) if not_ else None
    return f"{a / b:.2f}x" if a is not None and b else "n/a"


def _side(cell: CellResult | None, key: str | None, fmt: Callable[[float], str] = pct) -> str:
    return DASH if cell is None else shown(cell, key, fmt)


def our_row(label: str, by: dict[bool, CellResult], key: str | None) -> tuple[str, ...]:
    pre, not_ = by.get(True), by.get(False)
    runs = " / ".join(run_text(c) if c else DASH for c in (pre, not_))
    return (label, _side(pre, SPEED, rate), _side(not_, SPEED, rate), speedup(pre, not_), _side(pre, key),
            _side(not_, key), "pairs/s, 2-core CPU", runs)


def paper_rows() -> tuple[tuple[str, ...], ...]:
    rows = []
    for r in paper.TABLE7.rows:
        pre, not_ = r.get("speed pre"), r.get("speed not")
        ratio = f"{pre.value / not_.value:.2f}x" if pre and not_ else DASH
        rows.append((f"paper: {r.label}", pre.text() if pre else DASH, not_.text() if not_ else DASH, ratio, DASH,
                     DASH, "img/s/core, 8 TPUv3 cores (Table 7)", DASH))
    return tuple(rows)


@STUDY_TABLES.register("precompute")
def precompute(cells: Sequence[CellResult]) -> StudyReport:
    keys = Keys.of(cells)
    zs = dataset(keys.zeroshot)
    columns = ("model", "speed precomputed", "speed not", "speed-up (precomputed / not)",
               f"0-shot top-1 % precomputed ({zs})", f"0-shot top-1 % not ({zs})", "unit, hardware",
               "runs (precomputed / not)")
    ours = tuple(our_row(label, by, keys.zeroshot) for label, by in pairs(cells).items())
    table = Table(f"Precomputed image embeddings ({counted(len(cells))}), paper Table 7 beside", columns,
                  ours + paper_rows())
    notes = (HARDWARE_NOTE, *status_notes(cells))
    return StudyReport("precompute", "Table 7 — precomputed image embeddings", (table, paper_reference(paper.TABLE7)),
                       notes)
