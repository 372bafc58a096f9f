"""Table specs: MLflow cell runs -> paper-style rows (plain Python, no MLflow here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import paper

SETUP_ORDER = ("LU", "Lu", "UU", "Uu", "uu", "UL", "uL")


def latest_finished(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """cell id -> its newest FINISHED run (runs arrive newest first); earlier runs are kept, never overwritten."""
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        cell = run["tags"].get("cell")
        if run["status"] == "FINISHED" and cell and cell not in out:
            out[cell] = run
    return out


def zeroshot_metric_prefix(run: dict[str, Any]) -> str:
    names = sorted(k.rsplit("/", 1)[0] for k in run["metrics"] if k.startswith("zeroshot/"))
    return names[0] if names else ""


def towers_rows(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per setup: our zero-shot metrics (percent) and final loss, with the paper's number beside."""
    rows = []
    for cell, run in latest_finished(runs).items():
        setup, m = run["tags"].get("setup", "?"), run["metrics"]
        prefix = zeroshot_metric_prefix(run)
        ref = paper.towers_reference(setup)
        rows.append({
            "setup": setup, "cell": cell, "dataset": prefix.split("/", 1)[-1] if prefix else "-",
            "top1": 100 * m[f"{prefix}/top1"] if prefix else None,
            "top5": 100 * m[f"{prefix}/top5"] if prefix else None,
            "loss": m.get("train/loss"), "steps": run["params"].get("optim.steps", "?"),
            "paper": f"{ref.value:.1f} ({ref.source}, {ref.what})" if ref else "-",
            "run_id": run["run_id"],
        })
    order = {s: i for i, s in enumerate(SETUP_ORDER)}
    return sorted(rows, key=lambda r: (order.get(r["setup"], 99), r["cell"]))


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    head = ("| setup | cell | zero-shot set | top-1 % | top-5 % | final loss | steps | paper (ImageNet 0-shot) "
            "| MLflow run |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(f"| {r['setup']} | {r['cell']} | {r['dataset']} | {_num(r['top1'], 1)} | {_num(r['top5'], 1)} | "
                     f"{_num(r['loss'], 3)} | {r['steps']} | {r['paper']} | {r['run_id'][:8]} |")
    return "\n".join(lines)


def _num(v: float | None, digits: int) -> str:
    return "-" if v is None else f"{v:.{digits}f}"
