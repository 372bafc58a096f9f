"""What several system tests share (no tests here): the tiny run's settings, and the steps a sweep's runs logged."""

from __future__ import annotations

# a run of seconds on 2 CPU cores: 32 px, 6 steps of 16 pairs, evaluations at step 4 and the end on 100 images
TINY = ["image.size=32", "optim.steps=6", "optim.warmup_steps=2", "data.batch_size=16", "eval.max_images=100",
        "train.log_every=2", "eval.every=4"]


def logged_steps(uri: str, sweep: str, metric: str = "train/loss") -> dict[str, list[int]]:
    """setup -> the steps at which its run logged ``metric``, in order; {} before the sweep's experiment exists."""
    from litlab.cluster.tracking import client, fetch_cell_runs

    try:
        runs = fetch_cell_runs(uri, sweep)
    except LookupError:
        return {}
    return {r["tags"]["setup"]: [m.step for m in client(uri).get_metric_history(r["run_id"], metric)] for r in runs}
