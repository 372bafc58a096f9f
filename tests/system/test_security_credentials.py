"""Training against S3, and S3 credentials never leak: a short training run reads its shards from and checkpoints
to a real S3 server (moto_server on loopback), credentials from the standard AWS environment chain (unique marker
strings as keys), never on the command line. Both checkpoints (step 3 and the final one) must land in S3; then
the markers are looked for everywhere the run wrote: MLflow params, tags, metric names and artifacts (through the
API and in the store's files), the run's stdout/stderr, the Ray session logs of its private RAY_TMPDIR, and the
checkpoints in S3."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from tiny_runs import TINY

pytestmark = pytest.mark.system
REPO = Path(__file__).resolve().parents[2]

def _upload(local: Path, uri: str) -> None:
    fs, path = pafs.FileSystem.from_uri(uri)
    pafs.copy_files(str(local), path, destination_filesystem=fs)


def _files_holding(root: Path, markers: list[bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [f"{path}: {m.decode()}" for m in markers if m in data]
    return hits


def _mlflow_hits(uri: str, markers: list[str]) -> tuple[list[str], int]:
    """Markers found in any run's params, tags or metric names, or in its artifact files; and how many runs."""
    from litlab.cluster.tracking import client

    c, hits, runs = client(uri), [], 0
    for exp in c.search_experiments():
        for run in c.search_runs([exp.experiment_id]):
            runs += 1
            d = run.data
            text = " ".join([*d.params, *d.params.values(), *d.tags, *d.tags.values(), *d.metrics])
            hits += [f"run {run.info.run_id} params/tags/metrics: {m}" for m in markers if m in text]
            with tempfile.TemporaryDirectory() as tmp:
                if c.list_artifacts(run.info.run_id):
                    c.download_artifacts(run.info.run_id, "", tmp)
                    hits += _files_holding(Path(tmp), [m.encode() for m in markers])
    return hits, runs


def test_credentials_appear_nowhere_the_run_writes(s3, tiny_shards, tmp_path, monkeypatch):
    key, secret = f"AKIALITLAB{uuid.uuid4().hex[:10].upper()}", f"litlab-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)  # moto accepts any keys
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    for split in ("train", "fmnist-test"):
        _upload(tiny_shards / split, f"s3://litlab-data/sec/{split}")
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    sets = ["data.root=s3://litlab-data/sec", *TINY, "train.checkpoint_every=3", "optim.steps=6"]
    cmd = [sys.executable, str(REPO / "experiments" / "design_grid.py"), "--preset", "smoke", "--cell", "setup=Lu",
           "--sweep", "sys-secrets", "--mlflow-uri", uri, "--storage", "s3://litlab-ckpt/secrets",
           *[a for s in sets for a in ("--set", s)]]
    ray_tmp = tempfile.mkdtemp(prefix="rs", dir="/tmp")  # short: Ray's socket paths live under it
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out.open("w") as o, err.open("w") as e:
        env = {**os.environ, "RAY_TMPDIR": ray_tmp, "LITLAB_LOG_DIR": str(tmp_path / "logs")}  # scanned below
        proc = subprocess.Popen(cmd, stdout=o, stderr=e, cwd=REPO, env=env, start_new_session=True)
        try:
            code = proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    try:
        assert code == 0, out.read_text()[-3000:] + err.read_text()[-3000:]
        markers = [key, secret]
        hits, runs = _mlflow_hits(uri, markers)
        assert runs >= 2, "expected the sweep's parent run and the cell's run"
        hits += _files_holding(tmp_path, [m.encode() for m in markers])  # store, artifacts, stdout, stderr, log
        objects = s3.list_objects_v2(Bucket="litlab-ckpt", Prefix="secrets/").get("Contents", [])
        assert sum(o["Key"].endswith("/model.pt") for o in objects) >= 2, objects  # step 3's and the final one
        for o in objects:
            body = s3.get_object(Bucket="litlab-ckpt", Key=o["Key"])["Body"].read()
            hits += [f"s3://litlab-ckpt/{o['Key']}: {m}" for m in markers if m.encode() in body]
        assert not hits, "credentials leaked:\n" + "\n".join(hits)
        logs = Path(ray_tmp) / "ray" / "session_latest" / "logs"
        assert logs.is_dir() and any(logs.iterdir()), f"no Ray session logs under {ray_tmp}"
        ray_hits = _files_holding(Path(ray_tmp), [m.encode() for m in markers])  # every Ray session file
        assert not ray_hits, "credentials leaked into Ray's session files:\n" + "\n".join(ray_hits)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
