"""The sweep's console lines from its events (``litlab.cluster.console``): pure, so every line is unit-tested.

    [2/7 setup=Lu] started (run 1a2b3c4d)
    [2/7 setup=Lu] step 20/60  loss 2.913  412 pairs/s
    [2/7 setup=Lu] finished in 3m12s: zeroshot/emoji-vendors-heldout/top1 0.213  zeroshot/fmnist-test/top1 0.305
    sweep: 2/7 done, 1 running, 0 failed; 4m05s elapsed, ETA 9m30s

A sweep's console stays near ``LINE_BUDGET`` lines whatever its size: every cell prints its start, its end and the
sweep line after it, and the lines left are shared out as progress lines, at most ``(LINE_BUDGET - 3 n) // n`` a
cell (at least one), each at the first logged step at or after one of evenly spaced marks (a 7-cell sweep of 60
steps logged every 10 shows steps 10-50; 21 cells, step 30). The last step prints no progress line: the end line
follows it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from litlab.progress import eta_text as duration

# the metrics an end line shows: each evaluation's first-glance number
HEADLINE = re.compile(r"^(zeroshot/[^/]+/top1|retrieval/[^/]+/(i2t|t2i)_r1|fewshot/[^/]+/10shot/top1)$")
SKIPPED = re.compile(r"^data/(build_)?skipped/")
LINE_BUDGET = 90  # a sweep's console lines, its header and closing lines aside (~100 in all)
PER_CELL = 3  # a cell's start and end lines, and the sweep line after its end


def progress_marks(steps: int, cells: int) -> list[int]:
    """The steps, evenly spaced inside (0, steps), at or after which a cell's next progress line shows."""
    k = max(1, (LINE_BUDGET - PER_CELL * cells) // max(cells, 1))
    return [steps * j // (k + 1) for j in range(1, k + 1)]


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """The headline metrics among ``metrics``, in name order."""
    return {k: float(metrics[k]) for k in sorted(metrics) if HEADLINE.match(k)}


@dataclass
class CellState:
    index: int  # 1-based, in the sweep's order
    cell_id: str
    steps: int
    step: int = 0
    status: str = "pending"  # pending | running | finished | failed | skipped | stopped
    started: float | None = None
    marks: list[int] = field(default_factory=list)  # progress_marks not yet passed


@dataclass
class SweepView:
    """The state of a sweep as its events tell it, and the lines they print."""

    cells: list[CellState]
    began: float
    runs: dict[str, str] = field(default_factory=dict)  # run id -> cell id

    @classmethod
    def of(cls, cells: Sequence[tuple[str, int]], now: float) -> SweepView:
        n = len(cells)
        return cls([CellState(i + 1, cell_id, steps, marks=progress_marks(steps, n))
                    for i, (cell_id, steps) in enumerate(cells)], now)

    def cell(self, cell_id: str) -> CellState | None:
        return next((c for c in self.cells if c.cell_id == cell_id), None)

    def tag(self, c: CellState) -> str:
        return f"[{c.index}/{len(self.cells)} {c.cell_id}]"

    def lines(self, event: dict[str, Any], now: float) -> list[str]:
        """The lines one event prints (none for an event about a run this sweep does not know)."""
        kind = event["kind"]
        if kind in ("note", "warn"):
            return [("warning: " if kind == "warn" and not event["text"].startswith("warning") else "")
                    + event["text"]]
        c = self.cell(event["cell"]) if "cell" in event else self.cell(self.runs.get(event.get("run", ""), ""))
        if c is None:
            return []
        if kind == "start":
            self.runs[event["run"]] = c.cell_id
            c.status, c.started = "running", now
            return [f"{self.tag(c)} started (run {event['run'][:8]})"]
        if kind == "skip":
            c.status, c.step = "skipped", c.steps
            return [f"{self.tag(c)} {event.get('earlier', 'finished')} earlier in run {event['run'][:8]}: skipped"]
        if kind == "step":
            step = int(event["step"])
            c.step = max(c.step, step)
            if step >= c.steps or not c.marks or step < c.marks[0]:
                return []
            c.marks = [m for m in c.marks if m > step]
            return [f"{self.tag(c)} step {event['step']}/{event['steps']}  loss {event['loss']:.3f}  "
                    f"{event['pairs_s']:.0f} pairs/s"]
        if kind == "end":
            return self._end(c, event, now)
        raise ValueError(f"unknown console event kind {kind!r}; valid: note, warn, start, skip, step, end")

    def _end(self, c: CellState, event: dict[str, Any], now: float) -> list[str]:
        took = duration(now - (c.started if c.started is not None else now))
        if event["status"] == "STOPPED":  # by the sweep's scheduler (ASHA): done, with what it measured so far
            c.status = "stopped"
            return [f"{self.tag(c)} stopped by {event.get('by', 'the scheduler')} at step {event.get('step', '?')} "
                    f"after {took}", self.sweep_line(now)]
        if event["status"] != "FINISHED":
            c.status = "failed"
            return [f"{self.tag(c)} FAILED after {took}: {event.get('error', '')}".rstrip(": "), self.sweep_line(now)]
        c.status, c.step = "finished", c.steps
        shown = "  ".join(f"{k} {v:.3f}" for k, v in headline(event["metrics"]).items())
        out = [f"{self.tag(c)} finished in {took}: {shown}".rstrip(": ")]
        skipped = {k: v for k, v in event["metrics"].items() if SKIPPED.match(k) and v}
        if skipped:
            out.append(f"warning: {self.tag(c)} skipped records: "
                       + ", ".join(f"{k.removeprefix('data/')} {v:g}" for k, v in sorted(skipped.items())))
        return [*out, self.sweep_line(now)]

    def sweep_line(self, now: float) -> str:
        count = {s: sum(c.status == s for c in self.cells)
                 for s in ("finished", "running", "failed", "skipped", "stopped")}
        done = count["finished"] + count["skipped"] + count["stopped"]
        line = (f"sweep: {done}/{len(self.cells)} done, {count['running']} running, {count['failed']} failed; "
                f"{duration(now - self.began)} elapsed")
        eta = self.eta(now)
        return line + (f", ETA {duration(eta)}" if eta is not None else "")

    def eta(self, now: float) -> float | None:
        """Seconds left, from the share of the steps to run that are done (failed cells count as done);
        None before any step of this invocation is done."""
        todo = [c for c in self.cells if c.status != "skipped"]
        if not todo:
            return None
        share = sum(1.0 if c.status in ("finished", "failed", "stopped") else min(c.step / max(c.steps, 1), 1.0)
                    for c in todo) / len(todo)
        if share <= 0:
            return None
        elapsed = now - self.began
        return elapsed * (1 - share) / share
