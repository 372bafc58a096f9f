"""Study "loss" (Appendix F / Figure 9): the contrastive loss over the global batch or each worker's own; and its
objective part, softmax vs sigmoid (ablations.table_loss_objective)."""

from __future__ import annotations

from collections.abc import Sequence

from ablations import paper
from ablations.report_groups import Group
from ablations.report_model import STUDY_TABLES, Plot, Series, StudyReport, Table
from ablations.report_signal import Signal, banded
from ablations.report_values import DASH, Keys, other_settings, seeds_text, shown, status_notes
from ablations.report_verdicts import increasing_check, pairs_check
from ablations.table_loss_objective import negatives_part, objective_report

LOSSES = ("global", "worker")
AXES = ("optim.negatives", "data.batch_size")


def batch_of(group: Group) -> int | None:
    return group.whole_number("data.batch_size")


def loss_of(group: Group) -> str:
    return group.setting("optim.negatives") or "?"


def grid(groups: Sequence[Group]) -> dict[str, dict[str, Group]]:
    """Row label (batch size, plus any other override) -> loss -> group, rows by batch size."""
    rows: dict[str, dict[str, Group]] = {}
    for g in sorted(groups, key=lambda g: (batch_of(g) or 0, g.id)):
        bs = batch_of(g)
        others = other_settings(g, AXES, groups)
        label = (DASH if bs is None else str(bs)) + (f" ({others})" if others else "")
        rows.setdefault(label, {})[loss_of(g)] = g
    return rows


def losses_in(groups: Sequence[Group]) -> tuple[str, ...]:
    found = list(dict.fromkeys(loss_of(g) for g in groups))
    return tuple(sorted(found, key=lambda x: (LOSSES.index(x) if x in LOSSES else len(LOSSES), x)))


def _values(group: Group | None, key: str | None) -> tuple[float, ...]:
    return group.values(key) if group is not None and key else ()


def bigger_check(groups: Sequence[Group], loss: str, key: str | None, signal: Signal) -> str:
    """Larger batches better, for one loss: the slope of top-1 on log2 batch size over every seed's run."""
    mine = [g for g in groups if loss_of(g) == loss and batch_of(g) is not None]
    sizes = [batch_of(g) for g in mine]
    what = f"{loss} loss: zero-shot top-1 %"
    if len(set(sizes)) < len(sizes):
        return f"{what} increasing in batch size: cannot check, other settings vary at one batch size"
    return increasing_check({float(batch_of(g) or 0): _values(g, key) for g in mine}, what, "batch size", signal)


def checks(groups: Sequence[Group], key: str | None, signal: Signal) -> tuple[str, str]:
    rows = grid(groups)
    versus = pairs_check({label: _values(by.get("global"), key) for label, by in rows.items()},
                         {label: _values(by.get("worker"), key) for label, by in rows.items()},
                         "≥", LOSSES, signal)
    bigger = "; ".join(bigger_check(groups, loss, key, signal) for loss in losses_in(groups))
    return f"Global vs worker negatives, zero-shot top-1 % at each batch size: {versus}.", \
        f"Larger batches: {bigger}."


def loss_plot(groups: Sequence[Group], key: str | None) -> Plot:
    series: list[Series] = []
    for loss in losses_in(groups):
        by_bs = {float(b): list(_values(g, key)) for g in groups if loss_of(g) == loss and (b := batch_of(g))}
        if line := banded(loss, by_bs):
            series.append(line)
    return Plot("loss", "Global vs local contrastive loss (cf. Appendix F)", "batch size",
                f"zero-shot top-1 % ({key or 'none logged'}), mean and 95 % band over seeds", tuple(series),
                xscale="log2", legend="loss")


@STUDY_TABLES.register("loss")
def loss(study: Sequence[Group]) -> StudyReport:
    keys = Keys.of(study)
    groups = negatives_part(study)
    objective_tables, objective_notes, objective_plots = objective_report(study, keys)
    rows, losses = grid(groups), losses_in(groups)
    by_id = {g.id: g for g in groups}
    header = keys.header("zeroshot", by_id)
    columns = ("batch size", *(f"{name}: {header}" for name in losses))
    body = tuple((label, *(shown(by[name], keys.zeroshot, with_error=True) if name in by else DASH
                           for name in losses)) for label, by in rows.items())
    table = Table(f"Global vs local loss by batch size ({seeds_text(groups)})", columns, body)
    notes = (*checks(groups, keys.zeroshot, keys.signal("zeroshot", by_id)), paper.APPENDIX_F.cited(),
             *keys.signal_notes(by_id, ("zeroshot",)), *objective_notes, *status_notes(study))
    return StudyReport("loss", "Appendix F — global vs local contrastive loss; SigLIP — softmax vs sigmoid",
                       (table,), notes, (loss_plot(groups, keys.zeroshot), *objective_plots), objective_tables)
