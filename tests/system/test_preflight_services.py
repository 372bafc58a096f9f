"""The preflight's checks of the services a sweep writes to (litlab.cluster.preflight), against real ones: an MLflow
server with basic auth (wrong, missing and right credentials), a port where nothing listens, a sqlite store under a
file, and checkpoint storage on local disk and on a real S3 server (moto_server), where the probe write must leave
nothing behind. No Ray."""

from __future__ import annotations

import os

import pytest
from servers import free_port, start_mlflow, stop

pytestmark = pytest.mark.system
ADMIN, PASSWORD = "litlab-admin", "litlab-admin-password-1"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """`mlflow server --app-name basic-auth` on a free loopback port; yields its URI."""
    tmp = tmp_path_factory.mktemp("auth")
    (tmp / "auth.ini").write_text(f"[mlflow]\ndefault_permission = EDIT\ndatabase_uri = sqlite:///{tmp}/auth.db\n"
                                  f"admin_username = {ADMIN}\nadmin_password = {PASSWORD}\n"
                                  "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    env = {"MLFLOW_AUTH_CONFIG_PATH": str(tmp / "auth.ini"), "MLFLOW_FLASK_SERVER_SECRET_KEY": "litlab-test"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # start_mlflow passes the environment on
    port = free_port()
    try:
        server = start_mlflow(port, f"sqlite:///{tmp / 'mlflow.db'}", tmp / "server.log", "--app-name", "basic-auth")
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    yield f"http://127.0.0.1:{port}"
    stop(server)


def test_mlflow_that_refuses_the_credentials_or_does_not_answer_is_a_problem(auth_server, monkeypatch):
    from litlab.cluster.preflight import mlflow_problem

    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    refused = (f"MLflow at {auth_server} refused the credentials (HTTP 401): set MLFLOW_TRACKING_USERNAME / "
               f"MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)")
    assert mlflow_problem(auth_server).startswith(refused)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-password")
    assert mlflow_problem(auth_server).startswith(refused)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    assert mlflow_problem(auth_server) is None
    nobody = f"http://127.0.0.1:{free_port()}"
    assert mlflow_problem(nobody) == (f"MLflow at {nobody} does not answer (ConnectionError); start the server "
                                      f"(`make cluster-up` starts one) or pass the right --mlflow-uri")


def test_a_server_that_is_not_mlflow_is_a_problem(tmp_path):
    from img2dataset_data import served
    from litlab.cluster.preflight import mlflow_problem

    with served(tmp_path) as uri:  # a plain HTTP file server: 501 for the POST of MLflow's search
        problem = mlflow_problem(uri)
    assert problem.startswith(f"MLflow at {uri} answered with an error: API request to endpoint "
                              f"/api/2.0/mlflow/experiments/search failed with error code 501"), problem


def test_a_sqlite_store_needs_a_folder_it_can_write(tmp_path):
    from litlab.cluster.preflight import mlflow_problem

    (tmp_path / "a-file").write_text("")
    problem = mlflow_problem(f"sqlite:///{tmp_path}/a-file/mlruns/mlflow.db")
    assert problem.startswith("--mlflow-uri sqlite:///") and f"({tmp_path}/a-file is not a folder)" in problem
    assert mlflow_problem(f"sqlite:///{tmp_path}/new/mlruns/mlflow.db") is None  # created when the sweep starts


def test_storage_takes_a_real_write_or_is_a_problem(tmp_path, s3):
    from litlab.cluster.preflight import storage_problem

    assert storage_problem(str(tmp_path / "ray")) is None and list((tmp_path / "ray").iterdir()) == []
    (tmp_path / "a-file").write_text("")
    assert storage_problem(str(tmp_path / "a-file" / "ray")).startswith(f"--storage {tmp_path}/a-file/ray: a test "
                                                                        f"write failed")
    assert storage_problem("relative/ray") == "--storage relative/ray: Ray Train needs an absolute path or an s3:// URI"
    assert storage_problem("s3://litlab-ckpt/sweeps") is None
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="litlab-ckpt").get("Contents", [])]
    assert keys in ([], ["sweeps/"]), keys  # the probe is deleted (pyarrow keeps the emptied folder as a marker)
    problem = storage_problem("s3://no-such-bucket/sweeps")
    assert problem.startswith("--storage s3://no-such-bucket/sweeps: a test write failed") and "AWS" in problem


def test_precompute_on_an_s3_root_and_a_missing_s3_split_are_named(s3):
    from litlab.config import RunConfig, apply_overrides
    from litlab.preflight import Preflight

    cfg = apply_overrides(RunConfig(), {"data.root": "s3://litlab-data/cc12m", "train.precompute": True})
    precompute, split = Preflight().data_problems(cfg)
    assert precompute.startswith("train.precompute keeps its embedding cache beside the shards, on local disk; "
                                 "data.root='s3://litlab-data/cc12m' is remote")
    assert split.startswith("no split folder s3://litlab-data/cc12m/train")
