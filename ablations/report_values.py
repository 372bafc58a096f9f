"""Which logged metrics a study reports, and how a setting's value is shown: mean ± interval with n, a count, a
dash (missing), FAILED."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from litlab.evaluators.suite import EVALUATORS, split_metric_key

from ablations.report_groups import Group
from ablations.report_model import TableCell, Value
from ablations.report_signal import Signal, signal_of

DASH = "-"  # a missing cell (with --allow-missing) or a paper entry that does not exist
NOT_LOGGED = "n/a"  # a finished run that did not log this metric
ERROR_CHARS = 60  # a failed cell's error, shortened, in a table cell


def declared(evaluator: str, metric: str) -> tuple[str, str]:
    """(evaluator, metric), checked against what the evaluator declares (litlab.evaluators.suite): a metric
    renamed there fails here, at import, instead of leaving the report's columns silently empty."""
    if metric not in EVALUATORS.get(evaluator).metrics:
        raise LookupError(f"evaluator {evaluator!r} declares no metric {metric!r}; it declares: "
                          f"{', '.join(EVALUATORS.get(evaluator).metrics)}")
    return evaluator, metric


ZEROSHOT_TOP1 = declared("zeroshot", "top1")
I2T_R1 = declared("retrieval", "i2t_r1")
T2I_R1 = declared("retrieval", "t2i_r1")
FEWSHOT10 = declared("fewshot", "10shot/top1")
LABELS = {"zeroshot": "ours 0-shot top-1 %", "i2t": "ours I→T R@1 %", "t2i": "ours T→I R@1 %",
          "fewshot10": "ours 10-shot top-1 %"}


def first_key(groups: Sequence[Group], wanted: tuple[str, str]) -> str | None:
    """The first logged name (sorted) of the (evaluator, metric) ``wanted``, on any set, among the finished runs
    of ``groups``."""
    names = {k for g in groups for c in g.finished if c.run for k in c.run["metrics"]
             if (parts := split_metric_key(k)) and (parts[0], parts[2]) == wanted}
    return min(names) if names else None


@dataclass(frozen=True)
class Keys:
    """The metrics a study's table shows; None where no finished run logged one."""

    zeroshot: str | None
    i2t: str | None
    t2i: str | None
    fewshot10: str | None

    @classmethod
    def of(cls, groups: Sequence[Group]) -> Keys:
        return cls(first_key(groups, ZEROSHOT_TOP1), first_key(groups, I2T_R1), first_key(groups, T2I_R1),
                   first_key(groups, FEWSHOT10))

    def header(self, which: str, groups: Mapping[str, Group]) -> str:
        """The column header of metric ``which`` (zeroshot, i2t, t2i, fewshot10) over the settings ``groups``:
        label, set, chance level, and "no signal" when no setting is clearly above chance."""
        key = getattr(self, which)
        return signal_of(groups, key).header(LABELS[which], dataset(key))

    def signal(self, which: str, groups: Mapping[str, Group]) -> Signal:
        return signal_of(groups, getattr(self, which))

    def signal_notes(self, groups: Mapping[str, Group], which: Sequence[str] = ("zeroshot", "i2t", "t2i",
                                                                                    "fewshot10")) -> tuple[str, ...]:
        """A note per shown column that has no signal."""
        notes = (self.signal(w, groups).note(dataset(getattr(self, w))) for w in which if getattr(self, w))
        return tuple(n for n in notes if n)


def dataset(key: str | None) -> str:
    """The set a metric was measured on: "zeroshot/fmnist-test/top1" -> "fmnist-test"."""
    if key is None:
        return "none logged"
    if parts := split_metric_key(key):
        return parts[1]
    return key.split("/")[1] if "/" in key else key


def integer(v: float) -> str:
    return f"{round(v):d}"


def short_error(error: str, limit: int = ERROR_CHARS) -> str:
    """The first line of an error, cut to ``limit`` characters."""
    line = (error.strip().splitlines() or ["?"])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _absent(group: Group, with_error: bool) -> str | None:
    """The text of a setting with no finished seed: "-" when missing, FAILED (with its error) when failed."""
    if group.status == "missing":
        return DASH
    if group.status == "failed":
        return f"FAILED: {short_error(group.errors[0])}" if with_error else "FAILED"
    if group.status == "stopped":
        return "stopped"
    return None


def shown(group: Group, key: str | None, scale: float = 100.0, digits: int = 1, with_error: bool = False
          ) -> TableCell:
    """A setting's metric over its seeds: mean ± 95 % interval with n (a Value), or why there is none."""
    if (text := _absent(group, with_error)) is not None:
        return text
    est = group.estimate(key) if key else None
    return NOT_LOGGED if est is None else Value(est, scale, digits)


def shown_once(group: Group, key: str, fmt: Callable[[float], str] = integer) -> str:
    """A logged count that does not depend on the seed (dedup's matches): the first finished run's value."""
    if (text := _absent(group, False)) is not None:
        return text
    values = group.values(key)
    return NOT_LOGGED if not values else fmt(values[0])


def run_text(group: Group) -> str:
    """The run column: the finished runs' short ids, FAILED with its error, or "-" when missing."""
    if group.status == "missing":
        return DASH
    if group.status == "failed":
        return f"FAILED: {short_error(group.errors[0])} ({group.replicates[0].run_id[:8]})"
    if group.status == "stopped":
        return f"stopped ({group.stopped[0].run_id[:8]})"
    failed, stopped = len(group.errors), len(group.stopped)
    return " ".join(r[:8] for r in group.run_ids) + (f" (+{failed} failed)" if failed else "") + (
        f" (+{stopped} stopped)" if stopped else "")


def status_notes(groups: Sequence[Group]) -> tuple[str, ...]:
    """One note per failed replicate (its full first error line), per missing one (why) and per one a scheduler
    stopped, so none is dropped."""
    notes = []
    for c in (c for g in groups for c in g.replicates):
        if c.status == "failed":
            notes.append(f"FAILED cell `{c.cell}` (run {c.run_id}): {short_error(c.error, 300)}")
        elif c.status == "missing":
            notes.append(f"Missing cell `{c.cell}` (shown as {DASH}): {c.reason}")
        elif c.status == "stopped":
            notes.append(f"Cell `{c.cell}` {c.reason} (run {c.run_id}; no final evaluation, its values so far are "
                         f"under attempt.<n>/ names)")
    return tuple(notes)


def counted(n: int, what: str = "cell") -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def seeds_text(groups: Sequence[Group]) -> str:
    """E.g. "7 settings x 3 seeds", "7 settings, 1-3 seeds each"."""
    seeds = sorted({len(g.replicates) for g in groups}) or [0]
    per = f"x {counted(seeds[0], 'seed')}" if len(seeds) == 1 else f", {seeds[0]}-{seeds[-1]} seeds each"
    return f"{counted(len(groups), 'setting')} {per}"


def other_settings(group: Group, exclude: Sequence[str], groups: Sequence[Group]) -> str:
    """The setting's plan overrides besides ``exclude`` that differ across ``groups``, as "key=value, ..." (to tell
    rows apart; overrides every setting shares are left out)."""
    varying = [k for k in group.overrides if k not in exclude and len({str(g.overrides.get(k)) for g in groups}) > 1]
    return ", ".join(f"{k}={group.overrides[k]}" for k in varying)
