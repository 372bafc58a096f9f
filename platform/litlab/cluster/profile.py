"""A sweep's recorded times, read back from MLflow: each cell run's ``time/*`` histories (``litlab.timeline``)."""

from __future__ import annotations

from litlab.cluster.tracking import client, fetch_cell_runs
from litlab.timeline import TrialTimes

KEYS = ("time/train_from", "time/train_to", "time/eval_from", "time/eval_s")


def trial_times(uri: str, sweep: str) -> list[TrialTimes]:
    """One TrialTimes per FINISHED cell run of ``sweep`` (its canonical, published history)."""
    c = client(uri)
    out = []
    for run in fetch_cell_runs(uri, sweep):
        if run["status"] != "FINISHED":
            continue
        h = {k: sorted((m.step, m.timestamp, m.value) for m in c.get_metric_history(run["run_id"], k)) for k in KEYS}
        segments = tuple(zip((v for *_, v in h["time/train_from"]), (v for *_, v in h["time/train_to"]), strict=True))
        evals = tuple((lo, lo + d) for (*_, lo), (*_, d) in zip(h["time/eval_from"], h["time/eval_s"], strict=True))
        out.append(TrialTimes(cell=run["tags"]["cell"], start=run["metrics"]["time/trial_start"],
                              end=run["end_time"] / 1000, segments=segments, evals=evals,
                              worker_start=run["metrics"].get("time/worker_start"),
                              model_built=run["metrics"].get("time/model_built")))
    return out
