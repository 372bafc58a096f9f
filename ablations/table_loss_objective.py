"""The loss study's objective part: SigLIP's sigmoid loss vs the softmax contrastive loss by batch size, per image
tower setting (locked Lu, unlocked Uu), over seeds; and the split of the loss study's settings into its two parts.

The loss study (experiments/design_grid.py) is two products: ``optim.negatives`` x batch size (Appendix F, softmax)
and ``optim.objective`` x setup x batch size (SigLIP, global negatives). Their softmax / Lu / global cells are the
same config, so the grid merged them and they serve both parts. A setting a run did not record (a missing cell)
takes the base config's default.
"""

from __future__ import annotations

from collections.abc import Sequence

from litlab.config import RunConfig, to_params

from ablations import paper
from ablations.report_groups import Group
from ablations.report_model import Plot, Series, Table, TableCell
from ablations.report_signal import Signal, banded
from ablations.report_values import DASH, Keys, seeds_text, shown
from ablations.report_verdicts import pairs_check

OBJECTIVES = ("softmax", "sigmoid")
DEFAULTS = to_params(RunConfig())  # what a run's config holds for a key its cell did not override
Row = tuple[str, int | None]  # (setup, batch size)
Part = tuple[tuple[tuple[str, Table], ...], tuple[str, ...], tuple[Plot, ...]]  # (stem, table)s, notes, plots


def setting(group: Group, key: str) -> str:
    """The group's config value as text, the base default when no override or run records it."""
    value = group.setting(key)
    return str(DEFAULTS[key]) if value is None else value


def batch_of(group: Group) -> int | None:
    return group.whole_number("data.batch_size")


def negatives_part(groups: Sequence[Group]) -> list[Group]:
    """The Appendix F part: softmax settings at the setups that were also run with worker negatives. When none was:
    at the setups the objective part does not compare, else at the base config's setup (the objective part's
    softmax Uu cells are not Appendix F's), else every softmax setting."""
    softmax = [g for g in groups if setting(g, "optim.objective") == "softmax"]
    setups = {setting(g, "setup") for g in softmax if setting(g, "optim.negatives") == "worker"}
    if not setups:
        compared = {setting(g, "setup") for g in objective_part(groups)}
        setups = {setting(g, "setup") for g in softmax} - compared or {str(DEFAULTS["setup"])} & compared
    return [g for g in softmax if not setups or setting(g, "setup") in setups]


def objective_part(groups: Sequence[Group]) -> list[Group]:
    """The SigLIP part: global-negatives settings at the setups run with the sigmoid objective ([] when none)."""
    glob = [g for g in groups if setting(g, "optim.negatives") == "global"]
    setups = {setting(g, "setup") for g in glob if setting(g, "optim.objective") == "sigmoid"}
    return [g for g in glob if setting(g, "setup") in setups]


def rows_of(groups: Sequence[Group]) -> dict[Row, dict[str, Group]]:
    """(setup, batch size) -> objective -> group, by setup then batch size."""
    rows: dict[Row, dict[str, Group]] = {}
    for g in sorted(groups, key=lambda g: (setting(g, "setup"), batch_of(g) or 0, g.id)):
        rows.setdefault((setting(g, "setup"), batch_of(g)), {})[setting(g, "optim.objective")] = g
    return rows


def _values(group: Group | None, key: str | None) -> tuple[float, ...]:
    return group.values(key) if group is not None and key else ()


def small_batch_check(groups: Sequence[Group], key: str | None, signal: Signal) -> str:
    """SigLIP's "sigmoid ≥ softmax at small batch": at each setup's smallest batch size measured with both
    objectives, Welch over seeds, Holm across the setups."""
    rows = rows_of(groups)
    both = sorted((r for r, by in rows.items() if _values(by.get("sigmoid"), key) and _values(by.get("softmax"), key)),
                  key=lambda r: (r[0], r[1] or 0))
    smallest: dict[str, Row] = {}
    for row in both:
        smallest.setdefault(row[0], row)
    conditions = {f"{s}, batch {DASH if b is None else b}": rows[(s, b)] for s, b in smallest.values()}
    verdict = pairs_check({c: _values(by.get("sigmoid"), key) for c, by in conditions.items()},
                          {c: _values(by.get("softmax"), key) for c, by in conditions.items()},
                          "≥", ("sigmoid", "softmax"), signal)
    return f"Sigmoid vs softmax at the smallest batch size, zero-shot top-1 %: {verdict}."


def objective_table(groups: Sequence[Group], keys: Keys) -> Table:
    by_id = {g.id: g for g in groups}
    header = keys.header("zeroshot", by_id)
    body: list[tuple[TableCell, ...]] = []
    for (setup, bs), by in rows_of(groups).items():
        cells = (shown(by[o], keys.zeroshot, with_error=True) if o in by else DASH for o in OBJECTIVES)
        body.append((setup, DASH if bs is None else str(bs), *cells))
    return Table(f"Softmax vs sigmoid objective by batch size, global negatives ({seeds_text(groups)})",
                 ("setup", "batch size", *(f"{o}: {header}" for o in OBJECTIVES)), tuple(body))


def objective_plot(groups: Sequence[Group], key: str | None) -> Plot:
    series: list[Series] = []
    for setup in dict.fromkeys(s for s, _ in rows_of(groups)):
        for objective in OBJECTIVES:
            by_bs = {float(b): list(_values(g, key)) for g in groups if (b := batch_of(g))
                     and setting(g, "setup") == setup and setting(g, "optim.objective") == objective}
            if line := banded(f"{objective} ({setup})", by_bs):
                series.append(line)
    return Plot("loss_objective", "Softmax vs sigmoid objective (cf. SigLIP)", "batch size",
                f"zero-shot top-1 % ({key or 'none logged'}), mean and 95 % band over seeds", tuple(series),
                xscale="log2", legend="objective (setup)")


def objective_report(groups: Sequence[Group], keys: Keys) -> Part:
    """The objective part's table (with its csv's stem), notes (the verdict, SigLIP's finding, no-signal)
    and curve; empty without it."""
    part = objective_part(groups)
    if not part:
        return (), (), ()
    by_id = {g.id: g for g in part}
    notes = (small_batch_check(part, keys.zeroshot, keys.signal("zeroshot", by_id)), paper.SIGLIP.cited(),
             *keys.signal_notes(by_id, ("zeroshot",)))
    return (("loss_objective", objective_table(part, keys)),), notes, (objective_plot(part, keys.zeroshot),)
