"""Study "towers_lr": the learning-rate search per tower setting, read before the towers order is.

One row per setting, one column per learning rate, then the best of them; the order check of Figure 3 / Table 2
is run on each setting at its own best learning rate, so that one shared lr cannot decide the order.
"""

from __future__ import annotations

from collections.abc import Sequence

from ablations import paper, report_checks
from ablations.report_cells import CellResult
from ablations.report_model import STUDY_TABLES, Plot, Series, StudyReport, Table
from ablations.report_values import DASH, Keys, counted, dataset, shown, status_notes
from ablations.table_towers import LOCKED_TEXT, PAPER_DIRECTION, by_setup, table2_note


def lr_of(cell: CellResult) -> float | None:
    return cell.number("optim.lr")


def top1(cell: CellResult, keys: Keys) -> float | None:
    """Zero-shot top-1 in percent, None when the cell has no such value (failed, missing, not logged)."""
    value = cell.metric(keys.zeroshot or "")
    return None if value is None else 100 * value


def best_cells(cells: Sequence[CellResult], keys: Keys) -> dict[str, CellResult]:
    """Each setting's cell with the highest zero-shot top-1 (settings with no measured cell are left out)."""
    best = {}
    for setup, group in by_setup(cells).items():
        measured = [c for c in group if top1(c, keys) is not None]
        if measured:
            best[setup] = max(measured, key=lambda c: top1(c, keys) or 0.0)
    return best


def _lr_text(lr: float | None) -> str:
    return DASH if lr is None else f"{lr:g}"


def search_table(cells: Sequence[CellResult], keys: Keys) -> Table:
    lrs = sorted({lr for c in cells if (lr := lr_of(c)) is not None})
    best = best_cells(cells, keys)
    columns = ("setup", *(f"lr {_lr_text(lr)}" for lr in lrs), "best lr", f"best {keys.zeroshot_header()}",
               "paper ImageNet 0-shot (Table 2)")
    rows = []
    for setup, group in by_setup(cells).items():
        at = {lr_of(c): c for c in group}
        values = tuple(shown(at[lr], keys.zeroshot) if lr in at else DASH for lr in lrs)
        winner = best.get(setup)
        ref = paper.towers_reference(setup)
        rows.append((setup, *values, _lr_text(lr_of(winner)) if winner else DASH,
                     shown(winner, keys.zeroshot) if winner else DASH, ref.cited() if ref else DASH))
    return Table(f"Zero-shot top-1 % per setting and learning rate ({counted(len(cells))})", columns, tuple(rows))


def order_check(best: dict[str, CellResult], keys: Keys) -> str:
    measured = {s: top1(c, keys) for s, c in best.items()}
    main = report_checks.chain(("Lu", "Uu", "uu"), ("≥", ">"), measured)
    others = [s for s in measured if s not in LOCKED_TEXT]
    locked = report_checks.below_all(LOCKED_TEXT, others, measured, "locked text")
    at = ", ".join(f"{s} {_lr_text(lr_of(c))}" for s, c in best.items())
    return (f"Order check, measured (zero-shot top-1 % on {dataset(keys.zeroshot)}, each setting at its best "
            f"learning rate: {at or 'none measured'}): {main}; {locked}. "
            f"Paper direction (Figure 3, Table 2): {PAPER_DIRECTION}.")


def edge_note(cells: Sequence[CellResult], best: dict[str, CellResult]) -> str:
    """Settings whose best lr is the lowest or highest one searched: a wider search might find a better one, so
    their value is a lower bound of what the setting can do."""
    lrs = sorted({lr for c in cells if (lr := lr_of(c)) is not None})
    if len(lrs) < 2:
        return "Search range: fewer than two learning rates, so no setting's best can be told from the range's edge."
    edges = {lrs[0]: "lowest", lrs[-1]: "highest"}
    at_edge = [f"{s} at {_lr_text(lr)} ({edges[lr]})" for s, c in best.items() if (lr := lr_of(c)) in edges]
    span = f"{_lr_text(lrs[0])}-{_lr_text(lrs[-1])}"
    if not at_edge:
        return f"Search range {span}: every setting's best lr lies inside it."
    return (f"Search range {span}: best lr at its edge for {', '.join(at_edge)}; a wider search might do better "
            f"there, so those values are lower bounds.")


def lr_plot(cells: Sequence[CellResult], keys: Keys) -> Plot:
    series = []
    for setup, group in by_setup(cells).items():
        points = sorted((lr, v) for c in group if (lr := lr_of(c)) is not None and (v := top1(c, keys)) is not None)
        if points:
            series.append(Series(setup, tuple(points)))
    return Plot("towers_lr", "Learning-rate search per tower setting", "learning rate",
                f"zero-shot top-1 % ({keys.zeroshot or 'none logged'})", tuple(series), xscale="log2",
                legend="setting")


@STUDY_TABLES.register("towers_lr")
def towers_lr(cells: Sequence[CellResult]) -> StudyReport:
    keys = Keys.of(cells)
    best = best_cells(cells, keys)
    notes = (order_check(best, keys), edge_note(cells, best), paper.FIGURE3.cited(), table2_note(),
             *status_notes(cells))
    return StudyReport("towers_lr", "Figure 3 / Table 2 — tower settings after a learning-rate search",
                       (search_table(cells, keys),), notes, (lr_plot(cells, keys),))
