"""Expected cells of a study (from the sweep plan) matched to their MLflow runs: finished, failed, stopped (by the
sweep's scheduler, e.g. ``--scheduler asha``: a KILLED run tagged ``stopped_by``) or missing.

Plain Python over the dicts of ``litlab.cluster.tracking.fetch_cell_runs`` / ``fetch_sweep_plan``; no MLflow here.
Each expected cell is one replicate (one seed) of its replicate group (ablations.report_groups gathers them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from litlab.grid import replicate_group

Status = Literal["finished", "failed", "stopped", "missing"]
Run = Mapping[str, Any]  # {"run_id", "status", "start_time", "tags", "params", "metrics", "history"}
PlanEntry = Mapping[str, Any]  # {"cell", "studies", "overrides"} (+ optional "config_hash", "replicate_group")


class Settings:
    """Numeric readings of a config value, for anything whose ``setting(key)`` gives it as text."""

    def setting(self, key: str) -> str | None:
        raise NotImplementedError

    def number(self, key: str) -> float | None:
        """A numeric config value (learning rate, steps...), or None when absent or not a number."""
        text = self.setting(key)
        try:
            return float(text) if text is not None else None
        except ValueError:
            return None

    def whole_number(self, key: str) -> int | None:
        """A config value that counts something (steps, batch size), or None when absent or not a number."""
        value = self.number(key)
        return None if value is None else int(value)


@dataclass(frozen=True)
class CellResult(Settings):
    cell: str  # cell id, e.g. "setup=Lu,optim.steps=300"
    studies: tuple[str, ...]
    overrides: Mapping[str, Any]  # the plan's overrides of this cell (typed values)
    status: Status
    run: Run | None = None  # the newest FINISHED run, else the newest FAILED one; None when missing
    reason: str = ""  # why a cell is missing, or who stopped it
    group: str = ""  # its replicate group (the cell id without the seed); "" = the cell id itself

    def __post_init__(self) -> None:
        if not self.group:
            object.__setattr__(self, "group", replicate_group(self.cell))

    def setting(self, key: str) -> str | None:
        """A config value as text: the plan's override, else the run's param, else its tag."""
        if key in self.overrides:
            return str(self.overrides[key])
        if self.run is None:
            return None
        return self.run["params"].get(key, self.run["tags"].get(key))

    def history(self, name: str) -> list[tuple[int, float]]:
        """(step, value) of every logged evaluation of ``name`` in a finished run, by step ([] when absent)."""
        if self.status != "finished" or self.run is None:
            return []
        return sorted((int(s), float(v)) for s, v in self.run.get("history", {}).get(name, ()))

    def metric(self, name: str) -> float | None:
        if self.status != "finished" or self.run is None:
            return None
        value = self.run["metrics"].get(name)
        return None if value is None else float(value)

    @property
    def run_id(self) -> str:
        return self.run["run_id"] if self.run is not None else ""

    @property
    def error(self) -> str:
        if self.status != "failed" or self.run is None:
            return ""
        return self.run["tags"].get("error") or "failed without an error tag"


class MissingCellsError(Exception):
    """Expected cells with no finished or failed run; the message names every one."""

    def __init__(self, missing: Sequence[tuple[str, CellResult]]) -> None:
        self.missing = tuple(missing)
        lines = [f"  {study}: {c.cell} ({c.reason})" for study, c in self.missing]
        super().__init__(
            f"{len(self.missing)} expected cell(s) have no finished or failed run:\n" + "\n".join(lines) +
            "\nrun them (experiments/design_grid.py --sweep NAME --cell ID), "
            "or pass --allow-missing to print a dash in their place")


def studies_in_plan(plan: Sequence[PlanEntry]) -> list[str]:
    """Every study the plan names, in the order it first names them."""
    seen: dict[str, None] = {}
    for entry in plan:
        seen.update(dict.fromkeys(entry.get("studies", ())))
    return list(seen)


def resolve_study(plan: Sequence[PlanEntry], runs: Sequence[Run], study: str) -> list[CellResult]:
    """The study's expected cells in plan order, each with its newest finished (else failed) run."""
    by_cell: dict[str, list[Run]] = {}
    for run in sorted(runs, key=lambda r: -int(r.get("start_time") or 0)):  # newest first, whatever the source
        by_cell.setdefault(run["tags"].get("cell", ""), []).append(run)
    return [_resolve(entry, by_cell.get(entry["cell"], [])) for entry in plan if study in entry.get("studies", ())]


def _resolve(entry: PlanEntry, runs: Sequence[Run]) -> CellResult:
    wanted = entry.get("config_hash")
    if wanted:  # a plan that records hashes ignores runs of an older config with the same cell id
        runs = [r for r in runs if r["tags"].get("config_hash") == wanted]
    base = {"cell": entry["cell"], "studies": tuple(entry.get("studies", ())),
            "overrides": dict(entry.get("overrides", {})), "group": entry.get("replicate_group") or ""}
    for name, found in (("finished", lambda r: r["status"] == "FINISHED"),
                        ("stopped", lambda r: r["status"] == "KILLED" and "stopped_by" in r["tags"]),
                        ("failed", lambda r: r["status"] == "FAILED")):
        run = next((r for r in runs if found(r)), None)
        if run is not None:
            why = (f"stopped by {run['tags']['stopped_by']} at step {run['tags'].get('stopped_at_step', '?')}"
                   if name == "stopped" else "")
            return CellResult(**base, status=name, run=run, reason=why)
    if runs:
        states = sorted({r["status"] for r in runs})
        reason = f"only {'/'.join(states)} run(s): {', '.join(r['run_id'][:8] for r in runs)}"
    else:
        reason = "no run" + (f" with config_hash {wanted}" if wanted else "")
    return CellResult(**base, status="missing", reason=reason)


def check_missing(results: Mapping[str, Sequence[CellResult]]) -> None:
    """Raise MissingCellsError naming every missing cell of every study."""
    missing = [(study, c) for study, cells in results.items() for c in cells if c.status == "missing"]
    if missing:
        raise MissingCellsError(missing)
