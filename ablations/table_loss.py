"""Study "loss" (Appendix F / Figure 9): the contrastive loss over the global batch or each worker's own."""

from __future__ import annotations

from collections.abc import Sequence

from ablations import paper, report_checks
from ablations.report_cells import CellResult
from ablations.report_model import STUDY_TABLES, Plot, Series, StudyReport, Table
from ablations.report_values import DASH, Keys, counted, dataset, other_settings, shown, status_notes

LOSSES = ("global", "worker")
AXES = ("optim.negatives", "data.batch_size")


def batch_of(cell: CellResult) -> int | None:
    return cell.whole_number("data.batch_size")


def loss_of(cell: CellResult) -> str:
    return cell.setting("optim.negatives") or "?"


def grid(cells: Sequence[CellResult]) -> dict[str, dict[str, CellResult]]:
    """Row label (batch size, plus any other override) -> loss -> cell, rows by batch size."""
    rows: dict[str, dict[str, CellResult]] = {}
    for c in sorted(cells, key=lambda c: (batch_of(c) or 0, c.cell)):
        bs = batch_of(c)
        others = other_settings(c, AXES, cells)
        label = (DASH if bs is None else str(bs)) + (f" ({others})" if others else "")
        rows.setdefault(label, {})[loss_of(c)] = c
    return rows


def losses_in(cells: Sequence[CellResult]) -> tuple[str, ...]:
    found = list(dict.fromkeys(loss_of(c) for c in cells))
    return tuple(sorted(found, key=lambda x: (LOSSES.index(x) if x in LOSSES else len(LOSSES), x)))


def _pct(cell: CellResult | None, key: str | None) -> float | None:
    v = cell.metric(key or "") if cell else None
    return None if v is None else 100 * v


def checks(rows: dict[str, dict[str, CellResult]], key: str | None) -> tuple[str, str]:
    pairs = [(label, _pct(by.get("global"), key), _pct(by.get("worker"), key)) for label, by in rows.items()]
    versus = report_checks.pairwise(pairs, LOSSES, "≥")
    points = [(float(b), v) for by in rows.values() if (c := by.get("global")) and (b := batch_of(c)) is not None
              and (v := _pct(c, key)) is not None]
    bigger = report_checks.increasing(points, "global loss: top-1 with batch size")
    return f"Measured, zero-shot top-1 %: {versus}.", f"Measured: {bigger}."


def loss_plot(cells: Sequence[CellResult], key: str | None) -> Plot:
    series = []
    for loss in losses_in(cells):
        pts = sorted((float(b), v) for c in cells if loss_of(c) == loss and (b := batch_of(c)) is not None
                     and (v := _pct(c, key)) is not None)
        if pts:
            series.append(Series(loss, tuple(pts)))
    return Plot("loss", "Global vs local contrastive loss (cf. Appendix F)", "batch size",
                f"zero-shot top-1 % ({key or 'none logged'})", tuple(series), xscale="log2", legend="loss")


@STUDY_TABLES.register("loss")
def loss(cells: Sequence[CellResult]) -> StudyReport:
    keys = Keys.of(cells)
    rows, losses = grid(cells), losses_in(cells)
    columns = ("batch size", *(f"{name}: ours 0-shot top-1 % ({dataset(keys.zeroshot)})" for name in losses))
    body = tuple((label, *(shown(by[name], keys.zeroshot, with_error=True) if name in by else DASH
                           for name in losses)) for label, by in rows.items())
    table = Table(f"Global vs local loss by batch size ({counted(len(cells))})", columns, body)
    notes = (*checks(rows, keys.zeroshot), paper.APPENDIX_F.cited(), *status_notes(cells))
    return StudyReport("loss", "Appendix F — global vs local contrastive loss", (table,), notes,
                       (loss_plot(cells, keys.zeroshot),))
