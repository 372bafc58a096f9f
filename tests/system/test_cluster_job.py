"""`make cluster-up` + `ray job submit`: the smoke grid runs as a Ray job and both runs land in the MLflow server.

Real processes: `ray start --head` and `mlflow server` on loopback (ports apart from the defaults, so a user's
cluster is left alone), the `ray` CLI submitting the working directory, the MLflow REST API read back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_smoke_grid import TINY

pytestmark = pytest.mark.system
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PORTS = {"RAY_GCS_PORT": "6391", "RAY_DASHBOARD_PORT": "8266", "MLFLOW_PORT": "5011", "RAY_AUTH_MODE": "token"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, **PORTS, "LITLAB_CLUSTER_STATE": str(state), "BIN": str(BIN)}
    script = REPO / "infra" / "local" / "cluster.sh"
    up = subprocess.run(["bash", str(script), "up"], env=env, capture_output=True, text=True, timeout=240)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield env, state
    finally:
        subprocess.run(["bash", str(script), "down"], env=env, capture_output=True, timeout=120)


def test_submitted_smoke_grid_logs_both_cells_to_the_server(cluster, tiny_shards, tmp_path):
    from litlab.cluster.tracking import fetch_cell_runs

    env, _ = cluster
    uri = f"http://127.0.0.1:{PORTS['MLFLOW_PORT']}"
    sets = [a for s in [f"data.root={tiny_shards}", *TINY] for a in ("--set", s)]
    job = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", f"http://127.0.0.1:{PORTS['RAY_DASHBOARD_PORT']}",
         "--working-dir", str(REPO), "--", "python", "experiments/design_grid.py", "--preset", "smoke",
         "--sweep", "sys-job", "--mlflow-uri", uri, "--storage", str(tmp_path / "ray"), *sets],
        env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert job.returncode == 0 and "succeeded" in job.stdout, job.stdout[-3000:] + job.stderr[-3000:]
    runs = fetch_cell_runs(uri, "sys-job")
    assert sorted(r["tags"]["setup"] for r in runs) == ["Lu", "uu"]
    assert all(r["status"] == "FINISHED" and "zeroshot/fmnist-test/top1" in r["metrics"] for r in runs)


def test_a_job_without_mlflow_uri_is_refused(cluster, tiny_shards):
    env, _ = cluster
    job = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", f"http://127.0.0.1:{PORTS['RAY_DASHBOARD_PORT']}",
         "--working-dir", str(REPO), "--", "python", "experiments/design_grid.py", "--preset", "smoke",
         "--set", f"data.root={tiny_shards}"],
        env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert "running as a Ray job: pass --mlflow-uri" in job.stdout + job.stderr
