"""Sweep runs and plans built by hand for the tests of ablations/report.py (test_report*.py), in the shape of
litlab.cluster.tracking.fetch_cell_runs / fetch_sweep_plan; no MLflow. Runs log their metrics' chance levels and
item counts as the evaluators do (chance/<key>, items/<key>). No tests here.
"""

from __future__ import annotations

from typing import Any

from litlab.grid import replicate_group, seeded_id

from ablations import study_tables
from ablations.report_cells import resolve_study
from ablations.report_groups import group_cells
from ablations.report_model import Table, text_of

ZS = "zeroshot/fmnist-test/top1"
I2T = "retrieval/emoji-heldout/i2t_r1"
T2I = "retrieval/emoji-heldout/t2i_r1"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAMES = {"zs": ZS, "i2t": I2T, "t2i": T2I, "pairs": "train/pairs_per_s", "tune": "dedup/tune_removed",
         "evalm": "dedup/eval_matched", "few": "fewshot/fmnist-idx-train+fmnist-idx-test/10shot/top1",
         "loss": "train/loss"}
# what the evaluators log beside the scores: 10 classes on 1000 images; 200 emoji, one caption each
FACTS = {f"chance/{ZS}": 0.1, f"items/{ZS}": 1000.0, f"chance/{I2T}": 0.005, f"items/{I2T}": 200.0,
         f"chance/{T2I}": 0.005, f"items/{T2I}": 200.0}


def cell_id(overrides: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in overrides.items())


def entry(studies: str, seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """A plan entry; ``seed`` > 0 is a replicate of the setting (its id gains the seed, as litlab.grid makes it)."""
    overrides = {k.replace("__", "."): v for k, v in overrides.items()}
    plain = cell_id(overrides)
    cell = seeded_id(plain, seed) if seed else plain
    extra = {"train.seed": seed} if seed else {}
    return {"cell": cell, "studies": studies.split(","), "overrides": overrides | extra,
            "replicate_group": replicate_group(cell), "seed": seed}


def run(plan_entry: dict[str, Any], status: str = "FINISHED", t: int = 100, error: str | None = None,
        protocol: str | None = "transfer", facts: bool = True, **metrics: float) -> dict[str, Any]:
    params = {k: str(v) for k, v in plan_entry["overrides"].items()}
    params.setdefault("setup", "Lu")
    params.setdefault("image.arch", "efficientnet_lite0")
    params.setdefault("text.arch", "transformer_tiny")
    tags = {"sweep": "t", "cell": plan_entry["cell"], "study": ",".join(plan_entry["studies"]),
            "setup": params["setup"], "image.arch": params["image.arch"], "text.arch": params["text.arch"]}
    if protocol:
        tags["protocol"] = protocol
    if error:
        tags["error"] = error
    logged = {NAMES[k]: v for k, v in metrics.items()}
    if facts and status == "FINISHED":
        logged |= {k: v for k, v in FACTS.items() if k.split("/", 1)[1] in logged}
    return {"run_id": f"{plan_entry['cell']}-{t}-run", "status": status, "start_time": t, "tags": tags,
            "params": params, "metrics": logged}


def seeded(studies: str, values: list[float], **overrides: Any) -> tuple[list[dict], list[dict]]:
    """One setting at len(values) seeds, seed k logging zero-shot top-1 values[k]: (plan entries, runs)."""
    plan = [entry(studies, seed=k, **overrides) for k in range(len(values))]
    return plan, [run(e, zs=v) for e, v in zip(plan, values, strict=True)]


def rows_by_first(table: Table) -> dict[str, dict[str, str]]:
    """Row label -> column -> the cell's text as markdown shows it."""
    return {text_of(row[0]): {c: text_of(v) for c, v in zip(table.columns, row, strict=True)} for row in table.rows}


def column(table: Table, start: str) -> str:
    """The one column whose header starts with ``start`` (headers carry the set and its chance level)."""
    (found,) = [c for c in table.columns if c.startswith(start)]
    return found


def build(study: str, plan: list[dict[str, Any]], runs: list[dict[str, Any]]):
    return study_tables.build(study, group_cells(resolve_study(plan, runs, study)))


def towers_sweep() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every setting at 100 and 300 steps, one seed each (uL only failed)."""
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


def towers_seeds(top1: dict[str, list[float]], steps: int = 300) -> tuple[list[dict], list[dict]]:
    """Each setting at ``steps`` with one run per seed, seed k logging top1[setting][k]."""
    plan, runs = [], []
    for setup, values in top1.items():
        p, r = seeded("towers", values, setup=setup, optim__steps=steps)
        plan += p
        runs += r
    return plan, runs
