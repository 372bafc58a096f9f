"""Study "towers" (Figure 3, Table 2): every tower setting, zero-shot top-1 over training steps."""

from __future__ import annotations

from collections.abc import Sequence

from litlab.config import FIGURE3_SETTINGS

from ablations import paper, report_checks
from ablations.report_cells import CellResult
from ablations.report_model import STUDY_TABLES, Plot, Series, StudyReport, Table
from ablations.report_values import DASH, Keys, counted, dataset, run_text, shown, status_notes

LOCKED_TEXT = ("UL", "uL")
PAPER_DIRECTION = "Lu ≥ Uu > uu, locked-text settings (UL, uL) poor"


def setup_of(cell: CellResult) -> str:
    return cell.setting("setup") or "?"


def steps_of(cell: CellResult) -> int | None:
    return cell.whole_number("optim.steps")


def by_setup(cells: Sequence[CellResult]) -> dict[str, list[CellResult]]:
    """Cells grouped by setting, in the paper's order (unknown settings last)."""
    groups: dict[str, list[CellResult]] = {}
    for c in cells:
        groups.setdefault(setup_of(c), []).append(c)
    order = {s: i for i, s in enumerate(FIGURE3_SETTINGS)}
    return dict(sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def final_cells(cells: Sequence[CellResult]) -> dict[str, CellResult]:
    """Each setting's cell at its largest step count (whatever its status: a failed last cell stays failed)."""
    return {s: max(group, key=lambda c: steps_of(c) or -1) for s, group in by_setup(cells).items()}


def _columns(keys: Keys) -> tuple[str, ...]:
    retrieval = (f"ours I→T R@1 % ({dataset(keys.i2t)})", f"ours T→I R@1 % ({dataset(keys.t2i)})") \
        if keys.i2t or keys.t2i else ()
    return ("setup", "steps", keys.zeroshot_header(), *retrieval, "paper ImageNet 0-shot (Table 2)", "run")


def _row(setup: str, cell: CellResult, keys: Keys) -> tuple[str, ...]:
    ref = paper.towers_reference(setup)
    retrieval = (shown(cell, keys.i2t), shown(cell, keys.t2i)) if keys.i2t or keys.t2i else ()
    steps = steps_of(cell)
    return (setup, DASH if steps is None else str(steps), shown(cell, keys.zeroshot), *retrieval,
            ref.cited() if ref else DASH, run_text(cell))


def order_check(finals: dict[str, CellResult], keys: Keys) -> str:
    """The measured ordering at each setting's largest step count against the paper's direction."""
    top1 = {s: (100 * v if (v := c.metric(keys.zeroshot or "")) is not None else None) for s, c in finals.items()}
    main = report_checks.chain(("Lu", "Uu", "uu"), ("≥", ">"), top1)
    others = [s for s in top1 if s not in LOCKED_TEXT]
    locked = report_checks.below_all(LOCKED_TEXT, others, top1, "locked text")
    return (f"Order check, measured (zero-shot top-1 % on {dataset(keys.zeroshot)}, each setting at its "
            f"largest step count): {main}; {locked}. Paper direction (Figure 3, Table 2): {PAPER_DIRECTION}.")


def towers_plot(cells: Sequence[CellResult], keys: Keys) -> Plot:
    """Top-1 vs steps per setting: each cell's final value at its step count; a setting run at one step count
    only is drawn from that run's evaluations during training (``eval.every``) instead."""
    series = []
    for setup, group in by_setup(cells).items():
        metric = keys.zeroshot or ""
        if len(group) == 1 and len(group[0].history(metric)) > 1:
            points = [(float(s), 100 * v) for s, v in group[0].history(metric)]
        else:
            points = sorted((float(s), 100 * v) for c in group
                            if (s := steps_of(c)) is not None and (v := c.metric(metric)) is not None)
        if points:
            series.append(Series(setup, tuple(points)))
    return Plot("towers", "Tower settings (cf. Figure 3)", "training steps",
                f"zero-shot top-1 % ({keys.zeroshot or 'none logged'})", tuple(series), legend="setting")


def table2_note() -> str:
    rows = "; ".join(f"{r.label} {' / '.join(r.texts())}" for r in paper.TABLE2.rows)
    return f"Paper, Table 2 ({paper.TABLE2.title}; {' / '.join(paper.TABLE2.columns)}): {rows}."


@STUDY_TABLES.register("towers")
def towers(cells: Sequence[CellResult]) -> StudyReport:
    keys = Keys.of(cells)
    finals = final_cells(cells)
    table = Table(f"Tower settings at their largest step count, paper beside ({counted(len(cells))})",
                  _columns(keys), tuple(_row(s, c, keys) for s, c in finals.items()))
    notes = (order_check(finals, keys), paper.FIGURE3.cited(), paper.SECTION6.cited(), table2_note(),
             *status_notes(cells))
    return StudyReport("towers", "Figure 3 / Table 2 — tower settings", (table,), notes, (towers_plot(cells, keys),))
