"""Which logged metrics a study reports, and how a cell's value is shown (percent, count, dash, FAILED)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from litlab.evaluators.suite import EVALUATORS, split_metric_key

from ablations.report_cells import CellResult

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


def first_key(cells: Sequence[CellResult], wanted: tuple[str, str]) -> str | None:
    """The first logged name (sorted) of the (evaluator, metric) ``wanted``, on any set, among the finished runs
    of ``cells``."""
    names = {k for c in cells if c.status == "finished" and c.run for k in c.run["metrics"]
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
    def of(cls, cells: Sequence[CellResult]) -> Keys:
        return cls(first_key(cells, ZEROSHOT_TOP1), first_key(cells, I2T_R1), first_key(cells, T2I_R1),
                   first_key(cells, FEWSHOT10))

    def zeroshot_header(self) -> str:
        return f"ours 0-shot top-1 % ({dataset(self.zeroshot)})"


def dataset(key: str | None) -> str:
    """The set a metric was measured on: "zeroshot/fmnist-test/top1" -> "fmnist-test"."""
    if key is None:
        return "none logged"
    if parts := split_metric_key(key):
        return parts[1]
    return key.split("/")[1] if "/" in key else key


def pct(v: float) -> str:
    return f"{100 * v:.1f}"


def integer(v: float) -> str:
    return f"{round(v):d}"


def rate(v: float) -> str:
    return f"{v:.1f}"


def short_error(error: str, limit: int = ERROR_CHARS) -> str:
    """The first line of an error, cut to ``limit`` characters."""
    line = (error.strip().splitlines() or ["?"])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def shown(cell: CellResult, key: str | None, fmt: Callable[[float], str] = pct, with_error: bool = False) -> str:
    """A cell's metric as table text: the value, "-" when missing, FAILED (with its error) when it failed."""
    if cell.status == "missing":
        return DASH
    if cell.status == "failed":
        return f"FAILED: {short_error(cell.error)}" if with_error else "FAILED"
    if cell.status == "stopped":
        return "stopped"
    value = cell.metric(key) if key else None
    return NOT_LOGGED if value is None else fmt(value)


def run_text(cell: CellResult) -> str:
    """The run column: a short run id, FAILED with its error, or "-" when missing."""
    if cell.status == "missing":
        return DASH
    if cell.status == "failed":
        return f"FAILED: {short_error(cell.error)} ({cell.run_id[:8]})"
    if cell.status == "stopped":
        return f"stopped ({cell.run_id[:8]})"
    return cell.run_id[:8]


def status_notes(cells: Sequence[CellResult]) -> tuple[str, ...]:
    """One note per failed cell (its full first error line), per missing cell (why) and per cell a scheduler stopped,
    so none is dropped."""
    notes = []
    for c in cells:
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


def other_settings(cell: CellResult, exclude: Sequence[str], cells: Sequence[CellResult]) -> str:
    """The cell's plan overrides besides ``exclude`` that differ across ``cells``, as "key=value, ..." (to tell
    rows apart; overrides every cell shares are left out)."""
    varying = [k for k in cell.overrides if k not in exclude and len({str(c.overrides.get(k)) for c in cells}) > 1]
    return ", ".join(f"{k}={cell.overrides[k]}" for k in varying)
