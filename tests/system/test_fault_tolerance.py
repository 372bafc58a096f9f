"""A Train worker killed with SIGKILL mid-run: Ray Train replaces it, the run resumes from its last checkpoint,
and the MLflow run continues with the same id and every logged step exactly once.

Real processes throughout: the design grid as a subprocess (local Ray cluster, sqlite MLflow store), the worker
found by its process title and killed by this test, the MLflow store read back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny_runs import logged_steps

pytestmark = pytest.mark.system
REPO = Path(__file__).resolve().parents[2]
STEPS, EVERY, LOG = 200, 20, 2
SETS = ["image.size=32", f"optim.steps={STEPS}", "optim.warmup_steps=2", "data.batch_size=16",
        "eval.max_images=100", f"train.log_every={LOG}", f"train.checkpoint_every={EVERY}"]


def _train_workers() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "ray::RayTrainWorker"], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def _kill_a_worker_after(uri: str, sweep: str, step: int, proc: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if max(logged_steps(uri, sweep).get("Lu") or [0]) >= step and (pids := _train_workers()):
            os.kill(pids[-1], signal.SIGKILL)
            return pids[-1]
        time.sleep(0.5)
    raise AssertionError(f"the Lu run never reached step {step}: {proc.poll()=}")


def test_sigkilled_worker_resumes_from_checkpoint_without_losing_or_doubling_steps(tiny_shards, tmp_path):
    from litlab.cluster.tracking import fetch_cell_runs

    uri, sweep = f"sqlite:///{tmp_path / 'mlflow.db'}", "sys-kill"
    sets = [a for s in [f"data.root={tiny_shards}", *SETS] for a in ("--set", s)]
    cmd = [sys.executable, str(REPO / "experiments" / "design_grid.py"), "--preset", "smoke", "--cell", "setup=Lu",
           "--sweep", sweep, "--mlflow-uri", uri, "--storage", str(tmp_path / "ray"), *sets]
    with open(tmp_path / "grid.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            _kill_a_worker_after(uri, sweep, EVERY + 10, proc, timeout=300)
            assert proc.wait(timeout=900) == 0, (tmp_path / "grid.log").read_text()[-4000:]
        finally:
            proc.kill()
    runs = {r["tags"]["setup"]: r for r in fetch_cell_runs(uri, sweep)}
    lu = runs["Lu"]
    assert lu["status"] == "FINISHED" and int(lu["tags"]["resumed_from_step"]) >= EVERY
    assert "'epoch'" in lu["tags"]["resumed_data_position"]
    assert logged_steps(uri, sweep)["Lu"] == list(range(LOG, STEPS + 1, LOG))  # each step once, none missing
    assert "zeroshot/fmnist-test/top1" in lu["metrics"] and list(runs) == ["Lu"]
