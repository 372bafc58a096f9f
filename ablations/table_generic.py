"""Any study the report has no paper table for: one row per setting with its primary metrics, never a crash."""

from __future__ import annotations

from collections.abc import Sequence

from ablations.report_groups import Group
from ablations.report_model import StudyReport, Table
from ablations.report_values import Keys, run_text, seeds_text, shown, status_notes

NO_PAPER = "No paper table is registered for this study (ablations/study_tables.py): our numbers only."


def generic(study: str, groups: Sequence[Group]) -> StudyReport:
    keys = Keys.of(groups)
    by_id = {g.id: g for g in groups}
    retrieval = keys.i2t or keys.t2i
    columns = ("setting", "status", keys.header("zeroshot", by_id),
               *((keys.header("i2t", by_id), keys.header("t2i", by_id)) if retrieval else ()), "final train loss",
               "runs")
    rows = tuple((g.id, g.status, shown(g, keys.zeroshot),
                  *((shown(g, keys.i2t), shown(g, keys.t2i)) if retrieval else ()),
                  shown(g, "train/loss", 1.0, 3), run_text(g)) for g in groups)
    table = Table(f"{study} ({seeds_text(groups)})", columns, rows)
    return StudyReport(study, f"Study {study}", (table,), (NO_PAPER, *keys.signal_notes(by_id), *status_notes(groups)))
