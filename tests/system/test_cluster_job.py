"""`make cluster-up` + `ray job submit`: the smoke grid runs as a Ray job across two Ray nodes, reading its shards
from S3, and both runs land in the MLflow server.

Real processes: `ray start --head` plus a second `ray start --address` node, `mlflow server` and `moto_server` on
loopback (ports apart from the defaults, so a user's cluster is left alone), the `ray` CLI submitting the working
directory, Ray's state API and the MLflow REST API read back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_runs import TINY

pytestmark = pytest.mark.system
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PORTS = {"RAY_GCS_PORT": "6391", "RAY_DASHBOARD_PORT": "8266", "MLFLOW_PORT": "5011", "S3_PORT": "5013",
         "RAY_AUTH_MODE": "token"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, tiny_shards):
    state = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, **PORTS, "LITLAB_CLUSTER_STATE": str(state), "BIN": str(BIN),
           "LITLAB_DATA_ROOT": str(tiny_shards)}  # what `up` copies into s3://litlab/data
    script = REPO / "infra" / "local" / "cluster.sh"
    up = subprocess.run(["bash", str(script), "up"], env=env, capture_output=True, text=True, timeout=240)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield env, state
    finally:
        subprocess.run(["bash", str(script), "down"], env=env, capture_output=True, timeout=120)


def test_submitted_smoke_grid_runs_on_both_nodes_from_s3_and_logs_both_cells(cluster):
    from litlab.cluster.tracking import fetch_cell_runs

    env, _ = cluster
    uri = f"http://127.0.0.1:{PORTS['MLFLOW_PORT']}"
    dashboard = f"http://127.0.0.1:{PORTS['RAY_DASHBOARD_PORT']}"
    sets = [a for s in ["data.root=s3://litlab/data", *TINY] for a in ("--set", s)]
    job = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", dashboard, "--submission-id", "sys-job-1",
         "--working-dir", str(REPO), "--", "python", "experiments/design_grid.py", "--preset", "smoke",
         "--sweep", "sys-job", "--mlflow-uri", uri, "--storage", "s3://litlab/ray", *sets],
        env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert job.returncode == 0 and "succeeded" in job.stdout, job.stdout[-3000:] + job.stderr[-3000:]
    runs = fetch_cell_runs(uri, "sys-job")
    assert sorted(r["tags"]["setup"] for r in runs) == ["Lu", "uu"]
    assert all(r["status"] == "FINISHED" and "zeroshot/fmnist-test/top1" in r["metrics"] for r in runs)
    assert all(r["params"]["data.root"] == "s3://litlab/data" for r in runs)
    assert "sized from the largest node: 2 workers x 0.5 CPU, 0 GPU" in job.stdout  # two 1-CPU raylets
    assert all(r["params"]["train.workers"] == "2" for r in runs)
    nodes = _nodes_that_worked(env, dashboard)
    assert len(nodes["all"]) == 2, nodes  # the head and the second raylet both joined
    assert nodes["used"] == nodes["all"], nodes  # and both ran the job's tasks or actors


def _nodes_that_worked(env: dict[str, str], dashboard: str) -> dict[str, set[str]]:
    """Node ids of the cluster, and those that ran a task or actor of any job but the driver's own supervisor."""
    script = (
        "import json, sys\n"
        "from ray.util.state import list_nodes, list_tasks, list_actors\n"
        f"a = {dashboard!r}\n"
        "nodes = {n.node_id for n in list_nodes(address=a) if n.state == 'ALIVE'}\n"
        "tasks = list_tasks(address=a, limit=10000, detail=True, raise_on_missing_output=False)\n"
        "actors = list_actors(address=a, limit=10000, detail=True, raise_on_missing_output=False)\n"
        "used = {t.node_id for t in tasks if t.node_id} | {x.node_id for x in actors\n"
        "        if x.node_id and x.class_name != 'JobSupervisor'}\n"
        "print(json.dumps({'all': sorted(nodes), 'used': sorted(used & nodes)}))\n")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    found = json.loads(out.stdout.strip().splitlines()[-1])
    return {k: set(v) for k, v in found.items()}


def test_a_job_without_mlflow_uri_is_refused(cluster):
    env, _ = cluster
    job = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", f"http://127.0.0.1:{PORTS['RAY_DASHBOARD_PORT']}",
         "--working-dir", str(REPO), "--", "python", "experiments/design_grid.py", "--preset", "smoke",
         "--set", "data.root=s3://litlab/data"],
        env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert "running as a Ray job: pass --mlflow-uri" in job.stdout + job.stderr
