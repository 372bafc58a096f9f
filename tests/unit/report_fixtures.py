"""Sweep runs and plans built by hand for the tests of ablations/report.py (test_report.py, test_report_render.py,
test_report_towers_lr.py), in the shape of litlab.cluster.tracking.fetch_cell_runs / fetch_sweep_plan; no MLflow.
No tests here.
"""

from __future__ import annotations

from typing import Any

from ablations import study_tables
from ablations.report_cells import resolve_study
from ablations.report_model import Table

ZS = "zeroshot/fmnist-test/top1"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def cell_id(overrides: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in overrides.items())


def entry(studies: str, **overrides: Any) -> dict[str, Any]:
    overrides = {k.replace("__", "."): v for k, v in overrides.items()}
    return {"cell": cell_id(overrides), "studies": studies.split(","), "overrides": overrides}


def run(plan_entry: dict[str, Any], status: str = "FINISHED", t: int = 100, error: str | None = None,
        **metrics: float) -> dict[str, Any]:
    params = {k: str(v) for k, v in plan_entry["overrides"].items()}
    params.setdefault("setup", "Lu")
    params.setdefault("image.arch", "efficientnet_lite0")
    params.setdefault("text.arch", "transformer_tiny")
    tags = {"sweep": "t", "cell": plan_entry["cell"], "study": ",".join(plan_entry["studies"]),
            "setup": params["setup"], "image.arch": params["image.arch"], "text.arch": params["text.arch"]}
    if error:
        tags["error"] = error
    names = {"zs": ZS, "i2t": "retrieval/emoji-heldout/i2t_r1", "t2i": "retrieval/emoji-heldout/t2i_r1",
             "pairs": "train/pairs_per_s", "tune": "dedup/tune_removed", "evalm": "dedup/eval_matched",
             "few": "fewshot/fmnist-idx-train+fmnist-idx-test/10shot/top1", "loss": "train/loss"}
    return {"run_id": f"{plan_entry['cell']}-{t}-run", "status": status, "start_time": t, "tags": tags,
            "params": params, "metrics": {names[k]: v for k, v in metrics.items()}}


def rows_by_first(table: Table) -> dict[str, dict[str, str]]:
    return {row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows}


def build(study: str, plan: list[dict[str, Any]], runs: list[dict[str, Any]]):
    return study_tables.build(study, resolve_study(plan, runs, study))


def towers_sweep() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    top1 = {"Lu": (0.501, 0.771), "Uu": (0.402, 0.702), "uu": (0.3, 0.601), "UL": (0.05, 0.12), "LU": (0.5, 0.7)}
    plan, runs = [], []
    for setup, values in top1.items():
        for steps, v in zip((100, 300), values, strict=True):
            e = entry("towers", setup=setup, optim__steps=steps)
            plan.append(e)
            runs.append(run(e, zs=v, i2t=v / 2, t2i=v / 3))
    plan.append(entry("towers", setup="uL", optim__steps=300))
    runs.append(run(plan[-1], status="FAILED", error="ValueError: text tower 'x' | locked\nTraceback..."))
    return plan, runs
