"""Any study the report has no paper table for: one row per cell with its primary metrics, never a crash."""

from __future__ import annotations

from collections.abc import Sequence

from ablations.report_cells import CellResult
from ablations.report_model import StudyReport, Table
from ablations.report_values import Keys, counted, dataset, run_text, shown, status_notes

NO_PAPER = "No paper table is registered for this study (ablations/study_tables.py): our numbers only."


def generic(study: str, cells: Sequence[CellResult]) -> StudyReport:
    keys = Keys.of(cells)
    retrieval = keys.i2t or keys.t2i
    columns = ("cell", "status", keys.zeroshot_header(),
               *((f"ours I→T R@1 % ({dataset(keys.i2t)})", f"ours T→I R@1 % ({dataset(keys.t2i)})") if retrieval
                 else ()), "final train loss", "run")
    rows = tuple((c.cell, c.status, shown(c, keys.zeroshot),
                  *((shown(c, keys.i2t), shown(c, keys.t2i)) if retrieval else ()),
                  shown(c, "train/loss", lambda v: f"{v:.3f}"), run_text(c)) for c in cells)
    table = Table(f"{study} ({counted(len(cells))})", columns, rows)
    return StudyReport(study, f"Study {study}", (table,), (NO_PAPER, *status_notes(cells)))
