"""RunLogger never drops metrics silently: what the tracking server does not take waits in memory and is sent in
order once it answers; at finish() a server that stays away is a loud error naming a json file holding them.
(The same with a real ``mlflow server`` stopped and restarted: tests/system/test_failures_mlflow.py.)"""

from __future__ import annotations

import json
import os

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE


class Server:
    """A stand-in for MlflowClient's log_batch/set_terminated that can be down."""

    def __init__(self) -> None:
        self.down, self.batches, self.ended, self.env = False, [], None, []

    def log_batch(self, run_id: str, metrics) -> None:
        self.env.append(os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES"))
        if self.down:
            raise MlflowException("API request to http://127.0.0.1:9/api/2.0/mlflow/runs/log-batch failed with "
                                  "exception HTTPConnectionPool: Connection refused")
        self.batches.append([(m.key, m.step, m.value) for m in metrics])

    def set_terminated(self, run_id: str, status: str) -> None:
        if self.down:
            raise ConnectionRefusedError("connection refused")
        self.ended = status

    def sent(self) -> list[tuple[str, int, float]]:
        return [m for b in self.batches for m in b]


@pytest.fixture
def logger(tmp_path):
    from litlab.cluster.tracking import RunLogger

    log = RunLogger("http://user:hunter2@127.0.0.1:9", "run1", finish_timeout_s=0.5, unsent_dir=str(tmp_path))
    log.client = Server()
    return log


def test_metrics_logged_while_the_server_is_down_arrive_once_in_order(logger, capsys):
    logger.log(1, {"loss": 1.0})
    logger.client.down = True
    for step in (2, 3, 4):
        logger.log(step, {"loss": float(step), "acc": step / 10})
    assert logger.unsent == 6 and logger.client.sent() == [("loss", 1, 1.0)]
    err = capsys.readouterr().err
    assert err.count("is not answering") == 1 and "keeping 2 metric value(s)" in err  # warned once per outage
    assert "hunter2" not in err and "user:***@" in err
    logger.client.down = False
    logger.log(5, {"loss": 5.0})
    assert logger.unsent == 0 and [s for k, s, _ in logger.client.sent() if k == "loss"] == [1, 2, 3, 4, 5]
    assert len(logger.client.sent()) == 8 and "answers again" in capsys.readouterr().err
    logger.finish()
    assert logger.client.ended == "FINISHED"


def test_finish_waits_for_the_server_then_sends_everything(logger, monkeypatch):
    import litlab.cluster.tracking as tracking

    logger.client.down = True
    logger.log(1, {"loss": 1.0})
    logger.finish_timeout_s = 30
    monkeypatch.setattr(tracking.time, "sleep", lambda s: setattr(logger.client, "down", False))
    logger.finish()  # the server came back during the wait
    assert logger.client.sent() == [("loss", 1, 1.0)] and logger.client.ended == "FINISHED"


def test_finish_with_the_server_gone_raises_and_saves_what_was_not_sent(logger, tmp_path):
    logger.client.down = True
    logger.log(1, {"loss": 1.0, "acc": 0.5})
    logger.log(2, {"loss": 0.5})
    with pytest.raises(RuntimeError, match=r"did not answer .* 3 metric value\(s\) of run run1 were never sent; "
                                           rf"they are saved in {tmp_path}/run1-\S+\.json") as err:
        logger.finish()
    assert "hunter2" not in str(err.value)
    saved = json.loads(logger.unsent_file.read_text())
    assert [(m["key"], m["step"], m["value"]) for m in saved["metrics"]] == [("loss", 1, 1.0), ("acc", 1, 0.5),
                                                                              ("loss", 2, 0.5)]
    assert saved["run_id"] == "run1" and "hunter2" not in logger.unsent_file.read_text()


def test_a_request_the_server_refuses_is_an_error_at_once(logger):
    def refuse(run_id, metrics):
        raise MlflowException("metric name too long", INVALID_PARAMETER_VALUE)

    logger.client.log_batch = refuse
    with pytest.raises(MlflowException, match="too long"):
        logger.log(1, {"x" * 1000: 1.0})


def test_http_retries_are_short_during_the_call_unless_the_user_set_them(logger, monkeypatch):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    logger.log(1, {"a": 1.0})
    assert logger.client.env == ["1"] and "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    logger.log(2, {"a": 1.0})
    assert logger.client.env == ["1", "3"] and os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "3"


def test_a_logger_dropped_with_unsent_metrics_saves_them(tmp_path, capsys):
    import gc

    from litlab.cluster.tracking import RunLogger

    log = RunLogger("http://127.0.0.1:9", "run2", unsent_dir=str(tmp_path))
    log.client = Server()
    log.client.down = True
    log.log(3, {"loss": 0.25})
    path = log.unsent_file
    del log
    gc.collect()
    assert json.loads(path.read_text())["metrics"][0]["step"] == 3 and "never reached MLflow" in capsys.readouterr().err
