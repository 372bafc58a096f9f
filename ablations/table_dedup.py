"""Study "dedup" (Table 5, Table 9): dropping near-duplicates of evaluation images from the training data."""

from __future__ import annotations

from collections.abc import Sequence

from ablations import paper
from ablations.report_groups import Group
from ablations.report_model import STUDY_TABLES, StudyReport, Table, paper_reference
from ablations.report_values import DASH, Keys, dataset, run_text, seeds_text, shown, shown_once, status_notes
from ablations.report_verdicts import no_change_check

DEDUP_ORDER = ("none", "test", "train+test")
PAPER_COLUMNS = ("#tune", "#eval", "IN", "I→T", "T→I")


def dedup_of(group: Group) -> str:
    return group.setting("data.dedup") or "?"


def ordered(groups: Sequence[Group]) -> list[Group]:
    order = {d: i for i, d in enumerate(DEDUP_ORDER)}
    return sorted(groups, key=lambda g: (order.get(dedup_of(g), len(order)), g.id))


def _columns(keys: Keys, groups: dict[str, Group]) -> tuple[str, ...]:
    paper_cols = tuple(f"paper {c} (Table 5)" for c in PAPER_COLUMNS)
    return ("dedup", "ours #tune removed", "ours #eval matched", keys.header("zeroshot", groups),
            keys.header("i2t", groups), keys.header("t2i", groups), *paper_cols, "runs")


def _row(group: Group, keys: Keys) -> tuple:
    ref = paper.TABLE5.row(dedup_of(group))
    cited = tuple(n.text() if (n := ref.get(c)) else DASH for c in PAPER_COLUMNS) if ref else (DASH,) * 5
    counts = (("0", "0") if dedup_of(group) == "none" and group.status == "finished" else  # nothing is matched
              (shown_once(group, "dedup/tune_removed"), shown_once(group, "dedup/eval_matched")))
    return (dedup_of(group), *counts, shown(group, keys.zeroshot), shown(group, keys.i2t), shown(group, keys.t2i),
            *cited, run_text(group))


def change_check(groups: Sequence[Group], keys: Keys) -> str:
    """Table 5's finding, deduplication barely changes the results, tested over seeds against no dedup."""
    values = {dedup_of(g): g.values(keys.zeroshot) if keys.zeroshot else () for g in groups}
    means = [sum(v) / len(v) for v in values.values() if v]
    theirs = [n.value for r in paper.TABLE5.rows if (n := r.get("IN")) is not None]
    spread = f"{100 * (max(means) - min(means)):.1f} points" if len(means) >= 2 else \
        f"cannot measure, {len(means)} measured setting(s)"
    signal = keys.signal("zeroshot", {g.id: g for g in groups})
    return (f"Zero-shot top-1 % ({dataset(keys.zeroshot)}) against no dedup, each setting's change with its "
            f"interval: {no_change_check('none', values, signal)}. Spread of the means: {spread}; paper "
            f"{max(theirs) - min(theirs):.1f} points (Table 5, ImageNet): deduplication barely changes the results.")


@STUDY_TABLES.register("dedup")
def dedup(groups: Sequence[Group]) -> StudyReport:
    keys = Keys.of(groups)
    rows = ordered(groups)
    by_id = {g.id: g for g in groups}
    ours = Table(f"Deduplication ({seeds_text(groups)}), paper Table 5 (Lu, B/32, mean of 3 runs) beside",
                 _columns(keys, by_id), tuple(_row(g, keys) for g in rows))
    notes = ("#tune removed / #eval matched: counts logged by our runs (dedup/tune_removed, dedup/eval_matched); "
             "the paper's are on its 3.6B-pair data.", change_check(rows, keys),
             *keys.signal_notes(by_id, ("zeroshot", "i2t", "t2i")), *status_notes(rows))
    return StudyReport("dedup", "Table 5 / Table 9 — deduplication", (ours, paper_reference(paper.TABLE9)), notes)
