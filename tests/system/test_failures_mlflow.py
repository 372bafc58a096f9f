"""The MLflow tracking server goes down mid-run: a real ``mlflow server`` (sqlite store) is stopped and started again
on the same port and store; every metric logged while it was down arrives exactly once, in order, and a server
that stays away makes finish() fail loudly, naming a file that holds what was not sent. No Ray."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from servers import free_port, start_mlflow, stop

pytestmark = pytest.mark.system


def _start(port: int, store: Path, log: Path) -> subprocess.Popen:
    return start_mlflow(port, f"sqlite:///{store / 'mlflow.db'}", log,
                        "--artifacts-destination", str(store / "artifacts"))


def test_metrics_logged_while_mlflow_is_down_arrive_exactly_once(tmp_path, capfd):
    from litlab.cluster.tracking import RunLogger, client

    port, log = free_port(), tmp_path / "server.log"
    uri = f"http://127.0.0.1:{port}"
    server = _start(port, tmp_path, log)
    try:
        run_id = client(uri).create_run(client(uri).create_experiment("down")).info.run_id
        logger = RunLogger(uri, run_id, finish_timeout_s=2, unsent_dir=str(tmp_path / "unsent"))
        logger.log(1, {"loss": 1.0, "acc": 0.1})
        stop(server)
        began = time.monotonic()
        for step in range(2, 6):  # the server is down: training goes on, nothing is dropped
            logger.log(step, {"loss": 1.0 / step, "acc": step / 10})
        assert time.monotonic() - began < 60 and logger.unsent == 8
        assert "is not answering" in capfd.readouterr().err
        server = _start(port, tmp_path, log)
        logger.log(6, {"loss": 1 / 6, "acc": 0.6})
        assert logger.unsent == 0
        history = {k: [(m.step, m.value) for m in client(uri).get_metric_history(run_id, k)] for k in ("loss", "acc")}
        assert history == {"loss": [(s, 1.0 / s) for s in range(1, 7)], "acc": [(s, s / 10) for s in range(1, 7)]}
        stop(server)
        logger.log(7, {"loss": 1 / 7})
        with pytest.raises(RuntimeError, match=r"1 metric value\(s\) of run .* never sent; they are saved in"):
            logger.finish()
        saved = json.loads(logger.unsent_file.read_text())["metrics"]
        assert [(m["key"], m["step"]) for m in saved] == [("loss", 7)]
    finally:
        if server.poll() is None:
            stop(server)
