"""Study "towers_lr": the learning-rate search per tower setting, read before the towers order is.

One row per setting, one column per learning rate (mean ± 95 % interval over seeds), then the best of them by
mean over seeds; the order check of Figure 3 / Table 2 is run on each setting's seeds at its own best learning
rate, so that one shared lr cannot decide the order.
"""

from __future__ import annotations

from collections.abc import Sequence

from ablations import paper
from ablations.report_groups import Group
from ablations.report_model import STUDY_TABLES, Plot, Series, StudyReport, Table
from ablations.report_signal import banded, signal_of
from ablations.report_values import DASH, Keys, dataset, seeds_text, shown, status_notes
from ablations.table_towers import PAPER_DIRECTION, by_setup, order_checks, table2_note

SELECTION_NOTE = ("Each setting's best lr is picked by mean over seeds and then tested on those same seeds, which "
                  "favours every setting alike (each had the same lrs to pick from); a close call between settings "
                  "deserves a fresh run at the chosen lrs.")


def lr_of(group: Group) -> float | None:
    return group.number("optim.lr")


def mean_top1(group: Group, keys: Keys) -> float | None:
    """Mean zero-shot top-1 over the group's seeds (a fraction), None when no seed has one."""
    est = group.estimate(keys.zeroshot) if keys.zeroshot else None
    return None if est is None else est.mean


def best_groups(groups: Sequence[Group], keys: Keys) -> dict[str, Group]:
    """Each setting's group with the highest mean zero-shot top-1 over seeds (unmeasured settings left out)."""
    best = {}
    for setup, found in by_setup(groups).items():
        measured = [g for g in found if mean_top1(g, keys) is not None]
        if measured:
            best[setup] = max(measured, key=lambda g: mean_top1(g, keys) or 0.0)
    return best


def _lr_text(lr: float | None) -> str:
    return DASH if lr is None else f"{lr:g}"


def search_table(groups: Sequence[Group], keys: Keys) -> Table:
    lrs = sorted({lr for g in groups if (lr := lr_of(g)) is not None})
    best = best_groups(groups, keys)
    header = keys.header("zeroshot", {g.id: g for g in groups})
    columns = ("setup", *(f"lr {_lr_text(lr)}" for lr in lrs), "best lr", f"best: {header}",
               "paper ImageNet 0-shot (Table 2)")
    rows = []
    for setup, found in by_setup(groups).items():
        at = {lr_of(g): g for g in found}
        values = tuple(shown(at[lr], keys.zeroshot) if lr in at else DASH for lr in lrs)
        winner = best.get(setup)
        ref = paper.towers_reference(setup)
        rows.append((setup, *values, _lr_text(lr_of(winner)) if winner else DASH,
                     shown(winner, keys.zeroshot) if winner else DASH, ref.cited() if ref else DASH))
    return Table(f"Zero-shot top-1 % per setting and learning rate ({seeds_text(groups)})", columns, tuple(rows))


def order_check(best: dict[str, Group], keys: Keys, groups: Sequence[Group]) -> str:
    """The order at each setting's best lr; not tested when no cell of the search is clearly above chance."""
    values = {s: g.values(keys.zeroshot) if keys.zeroshot else () for s, g in best.items()}
    at = ", ".join(f"{s} {_lr_text(lr_of(g))}" for s, g in best.items())
    signal = signal_of({g.id: g for g in groups}, keys.zeroshot)
    return (f"Order check (zero-shot top-1 % on {dataset(keys.zeroshot)}, each setting at its best learning rate: "
            f"{at or 'none measured'}): {order_checks(values, signal)}. "
            f"Paper direction (Figure 3, Table 2): {PAPER_DIRECTION}.")


def edge_note(groups: Sequence[Group], best: dict[str, Group]) -> str:
    """Settings whose best lr is the lowest or highest one searched: a wider search might find a better one, so
    their value is a lower bound of what the setting can do."""
    lrs = sorted({lr for g in groups if (lr := lr_of(g)) is not None})
    if len(lrs) < 2:
        return "Search range: fewer than two learning rates, so no setting's best can be told from the range's edge."
    edges = {lrs[0]: "lowest", lrs[-1]: "highest"}
    at_edge = [f"{s} at {_lr_text(lr)} ({edges[lr]})" for s, g in best.items() if (lr := lr_of(g)) in edges]
    span = f"{_lr_text(lrs[0])}-{_lr_text(lrs[-1])}"
    if not at_edge:
        return f"Search range {span}: every setting's best lr lies inside it."
    return (f"Search range {span}: best lr at its edge for {', '.join(at_edge)}; a wider search might do better "
            f"there, so those values are lower bounds.")


def lr_plot(groups: Sequence[Group], keys: Keys) -> Plot:
    series: list[Series] = []
    for setup, found in by_setup(groups).items():
        by_lr = {lr: list(g.values(keys.zeroshot or "")) for g in found if (lr := lr_of(g)) is not None}
        if line := banded(setup, by_lr):
            series.append(line)
    return Plot("towers_lr", "Learning-rate search per tower setting", "learning rate",
                f"zero-shot top-1 % ({keys.zeroshot or 'none logged'}), mean and 95 % band over seeds",
                tuple(series), xscale="log2", legend="setting")


@STUDY_TABLES.register("towers_lr")
def towers_lr(groups: Sequence[Group]) -> StudyReport:
    keys = Keys.of(groups)
    best = best_groups(groups, keys)
    notes = (order_check(best, keys, groups), edge_note(groups, best), SELECTION_NOTE,
             *keys.signal_notes({g.id: g for g in groups}, ("zeroshot",)), paper.FIGURE3.cited(), table2_note(),
             *status_notes(groups))
    return StudyReport("towers_lr", "Figure 3 / Table 2 — tower settings after a learning-rate search",
                       (search_table(groups, keys),), notes, (lr_plot(groups, keys),))
