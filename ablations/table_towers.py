"""Study "towers" (Figure 3, Table 2): every tower setting, zero-shot top-1 over training steps, over seeds."""

from __future__ import annotations

from collections.abc import Sequence

from litlab.config import FIGURE3_SETTINGS

from ablations import paper
from ablations.report_groups import Group
from ablations.report_model import STUDY_TABLES, Plot, Series, StudyReport, Table
from ablations.report_signal import Signal, banded
from ablations.report_values import DASH, Keys, dataset, run_text, seeds_text, shown, status_notes
from ablations.report_verdicts import below_check, chain_check

LOCKED_TEXT = ("UL", "uL")
MAIN_CHAIN = (("Lu", "Uu", "uu"), ("≥", ">"))
PAPER_DIRECTION = "Lu ≥ Uu > uu, locked-text settings (UL, uL) poor"


def setup_of(group: Group) -> str:
    return group.setting("setup") or "?"


def steps_of(group: Group) -> int | None:
    return group.whole_number("optim.steps")


def by_setup(groups: Sequence[Group]) -> dict[str, list[Group]]:
    """Settings' groups by tower setting, in the paper's order (unknown settings last)."""
    found: dict[str, list[Group]] = {}
    for g in groups:
        found.setdefault(setup_of(g), []).append(g)
    order = {s: i for i, s in enumerate(FIGURE3_SETTINGS)}
    return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def final_groups(groups: Sequence[Group]) -> dict[str, Group]:
    """Each tower setting's group at its largest step count (whatever its status: a failed last one stays failed)."""
    return {s: max(found, key=lambda g: steps_of(g) or -1) for s, found in by_setup(groups).items()}


def _columns(keys: Keys, finals: dict[str, Group]) -> tuple[str, ...]:
    retrieval = (keys.header("i2t", finals), keys.header("t2i", finals)) if keys.i2t or keys.t2i else ()
    return ("setup", "steps", keys.header("zeroshot", finals), *retrieval, "paper ImageNet 0-shot (Table 2)", "runs")


def _row(setup: str, group: Group, keys: Keys) -> tuple:
    ref = paper.towers_reference(setup)
    retrieval = (shown(group, keys.i2t), shown(group, keys.t2i)) if keys.i2t or keys.t2i else ()
    steps = steps_of(group)
    return (setup, DASH if steps is None else str(steps), shown(group, keys.zeroshot), *retrieval,
            ref.cited() if ref else DASH, run_text(group))


def order_checks(values: dict[str, tuple[float, ...]], signal: Signal) -> str:
    """Figure 3 / Table 2's order, tested over seeds: the Lu ≥ Uu > uu chain, and locked text below the rest."""
    return f"{chain_check(*MAIN_CHAIN, values, signal)}; {below_check(LOCKED_TEXT, values, signal)}"


def order_check(finals: dict[str, Group], keys: Keys) -> str:
    values = {s: g.values(keys.zeroshot) if keys.zeroshot else () for s, g in finals.items()}
    return (f"Order check (zero-shot top-1 % on {dataset(keys.zeroshot)}, each setting at its largest step count): "
            f"{order_checks(values, keys.signal('zeroshot', finals))}. Paper direction (Figure 3, Table 2): "
            f"{PAPER_DIRECTION}.")


def towers_plot(groups: Sequence[Group], keys: Keys) -> Plot:
    """Top-1 vs steps per setting, mean and 95 % band over seeds: each group's final value at its step count; a
    setting run at one step count only is drawn from its runs' evaluations during training (``eval.every``)."""
    series: list[Series] = []
    metric = keys.zeroshot or ""
    for setup, found in by_setup(groups).items():
        by_step: dict[float, list[float]] = {}
        if len(found) == 1 and any(len(h) > 1 for h in found[0].histories(metric)):
            for history in found[0].histories(metric):
                for step, v in history:
                    by_step.setdefault(float(step), []).append(v)
        else:
            for g in found:
                if (s := steps_of(g)) is not None:
                    by_step.setdefault(float(s), []).extend(g.values(metric))
        if line := banded(setup, by_step):
            series.append(line)
    return Plot("towers", "Tower settings (cf. Figure 3)", "training steps",
                f"zero-shot top-1 % ({keys.zeroshot or 'none logged'}), mean and 95 % band over seeds",
                tuple(series), legend="setting")


def table2_note() -> str:
    rows = "; ".join(f"{r.label} {' / '.join(r.texts())}" for r in paper.TABLE2.rows)
    return f"Paper, Table 2 ({paper.TABLE2.title}; {' / '.join(paper.TABLE2.columns)}): {rows}."


@STUDY_TABLES.register("towers")
def towers(groups: Sequence[Group]) -> StudyReport:
    keys = Keys.of(groups)
    finals = final_groups(groups)
    table = Table(f"Tower settings at their largest step count, paper beside ({seeds_text(groups)})",
                  _columns(keys, finals), tuple(_row(s, g, keys) for s, g in finals.items()))
    notes = (order_check(finals, keys), *keys.signal_notes(finals, ("zeroshot", "i2t", "t2i")), paper.FIGURE3.cited(),
             paper.SECTION6.cited(), table2_note(), *status_notes(groups))
    return StudyReport("towers", "Figure 3 / Table 2 — tower settings", (table,), notes, (towers_plot(groups, keys),))
