"""Study "dedup" (Table 5, Table 9): dropping near-duplicates of evaluation images from the training data."""

from __future__ import annotations

from collections.abc import Sequence

from ablations import paper
from ablations.report_cells import CellResult
from ablations.report_model import STUDY_TABLES, StudyReport, Table, paper_reference
from ablations.report_values import DASH, Keys, counted, dataset, integer, run_text, shown, status_notes

DEDUP_ORDER = ("none", "test", "train+test")
PAPER_COLUMNS = ("#tune", "#eval", "IN", "I→T", "T→I")


def dedup_of(cell: CellResult) -> str:
    return cell.setting("data.dedup") or "?"


def ordered(cells: Sequence[CellResult]) -> list[CellResult]:
    order = {d: i for i, d in enumerate(DEDUP_ORDER)}
    return sorted(cells, key=lambda c: (order.get(dedup_of(c), len(order)), c.cell))


def _columns(keys: Keys) -> tuple[str, ...]:
    paper_cols = tuple(f"paper {c} (Table 5)" for c in PAPER_COLUMNS)
    return ("dedup", "ours #tune removed", "ours #eval matched", keys.zeroshot_header(),
            f"ours I→T R@1 % ({dataset(keys.i2t)})", f"ours T→I R@1 % ({dataset(keys.t2i)})", *paper_cols, "run")


def _row(cell: CellResult, keys: Keys) -> tuple[str, ...]:
    ref = paper.TABLE5.row(dedup_of(cell))
    cited = tuple(n.text() if (n := ref.get(c)) else DASH for c in PAPER_COLUMNS) if ref else (DASH,) * 5
    counts = (("0", "0") if dedup_of(cell) == "none" and cell.status == "finished" else  # nothing is matched
              (shown(cell, "dedup/tune_removed", integer), shown(cell, "dedup/eval_matched", integer)))
    return (dedup_of(cell), *counts, shown(cell, keys.zeroshot), shown(cell, keys.i2t), shown(cell, keys.t2i), *cited,
            run_text(cell))


def spread_check(cells: Sequence[CellResult], keys: Keys) -> str:
    """How much zero-shot moves across dedup settings, ours vs Table 5's ImageNet column."""
    ours = [100 * v for c in cells if (v := c.metric(keys.zeroshot or "")) is not None]
    theirs = [n.value for r in paper.TABLE5.rows if (n := r.get("IN")) is not None]
    paper_spread = max(theirs) - min(theirs)
    if len(ours) < 2:
        measured = f"cannot measure, {len(ours)} finished cell(s)"
    else:
        measured = f"{max(ours) - min(ours):.1f} points"
    return (f"Zero-shot top-1 spread across dedup settings: measured {measured}; paper {paper_spread:.1f} points "
            "(Table 5, ImageNet): deduplication barely changes the results.")


@STUDY_TABLES.register("dedup")
def dedup(cells: Sequence[CellResult]) -> StudyReport:
    keys = Keys.of(cells)
    rows = ordered(cells)
    ours = Table(f"Deduplication ({counted(len(cells))}), paper Table 5 (Lu, B/32, mean of 3 runs) beside",
                 _columns(keys), tuple(_row(c, keys) for c in rows))
    notes = ("#tune removed / #eval matched: counts logged by our runs (dedup/tune_removed, dedup/eval_matched); "
             "the paper's are on its 3.6B-pair data.", spread_check(cells, keys), *status_notes(rows))
    return StudyReport("dedup", "Table 5 / Table 9 — deduplication", (ours, paper_reference(paper.TABLE9)), notes)
