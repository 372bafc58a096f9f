"""Kill the sweep driver mid-grid (SIGKILL to its whole process group: driver, local Ray, Train workers), re-run
the same command: finished cells are skipped, the unfinished one resumes from its last checkpoint, and MLflow
ends with every cell finished exactly once and every step logged exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from tiny_runs import logged_steps

pytestmark = pytest.mark.system
REPO = Path(__file__).resolve().parents[2]
STEPS, EVERY, LOG = 60, 10, 2
SETS = ["image.size=32", f"optim.steps={STEPS}", "optim.warmup_steps=2", "data.batch_size=16",
        "eval.max_images=100", f"train.log_every={LOG}", f"train.checkpoint_every={EVERY}"]


def _wait_for(condition, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"the grid exited ({proc.returncode}) before the condition held"
        time.sleep(0.5)
    raise AssertionError("timed out")


def test_killed_sweep_resumes_where_it_stopped(tiny_shards, tmp_path):
    from litlab.cluster.tracking import fetch_cell_runs

    uri, sweep = f"sqlite:///{tmp_path / 'mlflow.db'}", "sys-resume"
    sets = [a for s in [f"data.root={tiny_shards}", *SETS] for a in ("--set", s)]
    cmd = [sys.executable, str(REPO / "experiments" / "design_grid.py"), "--preset", "smoke", "--sweep", sweep,
           "--mlflow-uri", uri, "--storage", str(tmp_path / "ray"), *sets]
    ray_tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths live under it
    env = {**os.environ, "RAY_TMPDIR": ray_tmp}  # so this run's Ray processes can be found, and only them
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env,
                                 start_new_session=True)
        try:
            _wait_for(lambda: max(logged_steps(uri, sweep).get("uu") or [0]) >= 2 * EVERY + 4, first, 600)
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # the driver and its process group
            first.wait(timeout=60)
            subprocess.run(["pkill", "-9", "-f", ray_tmp], check=False)  # its local Ray cluster and workers
    time.sleep(2)
    statuses = {r["tags"]["setup"]: r["status"] for r in fetch_cell_runs(uri, sweep)}
    assert statuses == {"Lu": "FINISHED", "uu": "RUNNING"}  # the driver died with uu half done
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900, env=env)
    shutil.rmtree(ray_tmp, ignore_errors=True)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "cell setup=Lu: finished earlier" in again.stdout
    assert "cell setup=uu: resuming unfinished run" in again.stdout
    runs = fetch_cell_runs(uri, sweep)
    assert sorted((r["tags"]["setup"], r["status"]) for r in runs) == [("Lu", "FINISHED"), ("uu", "FINISHED")]
    uu = next(r for r in runs if r["tags"]["setup"] == "uu")
    assert int(uu["tags"]["resumed_from_step"]) >= 2 * EVERY
    assert logged_steps(uri, sweep) == {s: list(range(LOG, STEPS + 1, LOG)) for s in ("Lu", "uu")}
