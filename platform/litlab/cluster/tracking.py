"""MLflow: experiments per sweep, one run per cell, metrics from rank 0 only.

Ids are passed explicitly (never ``set_experiment``, which exports MLFLOW_EXPERIMENT_ID for later calls).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # telemetry once crashed a Ray worker

import mlflow
from mlflow.tracking import MlflowClient

from litlab.cluster import console
from litlab.config import RunConfig, config_hash, to_dict, to_params
from litlab.grid import replicate_group
from litlab.redact import redact

FINISHED = "FINISHED"
CHECKPOINTS_TAG = "checkpoints"  # a cell run's checkpoint folder (litlab.cluster.packs.checkpoint_folder)
HISTORY_PREFIXES = ("zeroshot",)  # metrics whose whole history fetch_cell_runs returns
PLAN_ARTIFACT = "plan.json"  # the sweep parent run's list of expected cells


def client(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri)


def is_finished(uri: str, run_id: str) -> bool:
    return client(uri).get_run(run_id).info.status == FINISHED


def local_store_uri(folder: str | Path) -> str:
    """An embedded sqlite store (artifacts beside it) for runs without a tracking server."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def ensure_experiment(uri: str, name: str, artifact_root: str | None = None) -> str:
    """The experiment's id, created if missing; a sqlite store keeps artifacts beside its database file (MLflow's
    default, ./mlruns of whatever directory the process runs in, would scatter them)."""
    c = client(uri)
    exp = c.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    if artifact_root is None and uri.startswith("sqlite:///"):
        artifact_root = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts" / name).as_uri()
    return c.create_experiment(name, artifact_location=artifact_root)


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cell_tags(cfg: RunConfig, cell_id: str, studies: tuple[str, ...], sweep: str) -> dict[str, str]:
    return {"sweep": sweep, "cell": cell_id, "study": ",".join(studies), "setup": cfg.setup,
            "image.arch": cfg.image.arch, "text.arch": cfg.text.arch, "text.tokenizer": cfg.text.tokenizer,
            "data.dedup": cfg.data.dedup, "protocol": cfg.eval.protocol, "seed": str(cfg.train.seed),
            "replicate_group": replicate_group(cell_id),
            "config_hash": config_hash(cfg), "git_commit": git_commit(), "mlflow.runName": cell_id}


def create_cell_run(uri: str, experiment_id: str, cfg: RunConfig, tags: dict[str, str],
                    parent_run_id: str | None = None) -> str:
    """A new run holding the cell's params, tags and resolved config; returns its id."""
    c = client(uri)
    if parent_run_id:
        tags = {**tags, "mlflow.parentRunId": parent_run_id}
    run = c.create_run(experiment_id, tags=tags, run_name=tags.get("mlflow.runName"))
    run_id = run.info.run_id
    params = [mlflow.entities.Param(k, _param_text(v)) for k, v in to_params(cfg).items()]
    c.log_batch(run_id, params=params)
    c.log_text(run_id, json.dumps(to_dict(cfg), indent=2, sort_keys=True), "config.json")
    return run_id


def _param_text(value: Any) -> str:
    """MLflow param text: lists as comma-separated items (as --set takes them), capped at MLflow's 6000 chars."""
    return (",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value))[:6000]


class RunLogger:
    """Metrics into an existing run, in order.

    Nothing is dropped silently: metrics the tracking server does not take (down, 5xx) stay in memory, with a
    warning, and are sent in order with the next ``log()`` or at ``finish()``, which waits up to
    ``finish_timeout_s`` for the server and otherwise saves them to a local json file and raises, naming it. Each
    request gets short HTTP retries (``SHORT_HTTP``, unless the environment sets them) so training is not held."""

    def __init__(self, uri: str, run_id: str, finish_timeout_s: float = 120.0, unsent_dir: str | None = None) -> None:
        self.client, self.run_id, self.uri = client(uri), run_id, uri
        self.finish_timeout_s = finish_timeout_s
        self._logged: dict[str, int] = {}  # metric -> last step logged before a restart
        self._pending: list[mlflow.entities.Metric] = []  # not yet accepted by the server, oldest first
        self._down = False
        where = Path(unsent_dir or Path(tempfile.gettempdir()) / "litlab-unsent-metrics")
        self.unsent_file = where / f"{run_id}-{os.getpid()}-{int(time.time())}.json"
        self._spill = weakref.finalize(self, _save_unsent, self._pending, self.unsent_file, run_id, uri)

    def continue_run(self) -> dict[str, int]:
        """For values logged straight under their final names (not through an attempt's history, see
        ``litlab.cluster.history``), e.g. once per run at step 0: a name is never logged again at a step it has."""
        for key in self.client.get_run(self.run_id).data.metrics:
            self._logged[key] = max(m.step for m in self.client.get_metric_history(self.run_id, key))
        return dict(self._logged)

    @property
    def unsent(self) -> int:
        """How many metric values wait for the server."""
        return len(self._pending)

    def log(self, step: int, metrics: dict[str, float], timestamp_ms: int | None = None) -> None:
        now = _now_ms() if timestamp_ms is None else timestamp_ms
        self.send([mlflow.entities.Metric(k, float(v), now, step) for k, v in metrics.items()
                   if step > self._logged.get(k, -1)])

    def send(self, metrics: list[mlflow.entities.Metric]) -> None:
        """Queue ``metrics`` (in order) and send what the server takes now."""
        self._pending.extend(metrics)
        self.flush()

    def flush(self) -> bool:
        """Send the waiting metrics, oldest first; True when none is left. A server that does not answer keeps
        them waiting (warned once per outage); any other error (a bad request) raises."""
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            try:
                with _short_http():
                    self.client.log_batch(self.run_id, metrics=batch)
            except Exception as err:  # noqa: BLE001 - MlflowException or a network error, sorted below
                if not _unavailable(err):
                    raise
                if not self._down:
                    console.say(f"warning: MLflow at {redact(self.uri)} is not answering ({_short(err)}); keeping "
                                f"{len(self._pending)} metric value(s) of run {self.run_id} to send when it is back",
                                warn=True)
                self._down = True
                return False
            del self._pending[:len(batch)]
        if self._down:
            console.say(f"MLflow at {redact(self.uri)} answers again; every kept metric value was sent", warn=True)
            self._down = False
        return True

    def log_artifact(self, path: str, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, path, artifact_path)

    def finish(self, status: str = FINISHED) -> None:
        """Send what is waiting (retrying up to ``finish_timeout_s``), then end the run; raises, naming the file
        the unsent metrics were saved to, if the server stays away."""
        self.flush_or_raise()
        self.client.set_terminated(self.run_id, status)

    def flush_or_raise(self) -> None:
        """Send what is waiting, retrying up to ``finish_timeout_s``; raises, naming the file the unsent metrics
        were saved to, if the server stays away."""
        deadline = time.monotonic() + self.finish_timeout_s
        while not self.flush():
            if time.monotonic() >= deadline:
                count = len(self._pending)
                _save_unsent(self._pending, self.unsent_file, self.run_id, self.uri)
                raise RuntimeError(f"MLflow at {redact(self.uri)} did not answer for {self.finish_timeout_s:.0f} s: "
                                   f"{count} metric value(s) of run {self.run_id} were never sent; they are saved "
                                   f"in {self.unsent_file} (log them with MlflowClient.log_batch once it is back)")
            time.sleep(1.0)

    def set_tag(self, key: str, value: Any) -> None:
        self.client.set_tag(self.run_id, key, str(value))


MAX_BATCH = 1000  # MLflow's limit of metrics per log_batch request
SHORT_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
              "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


@contextlib.contextmanager
def _short_http() -> Iterator[None]:
    """MLflow's HTTP retries kept short for one call (MLflow reads them per request), unless the user set them."""
    added = {k: v for k, v in SHORT_HTTP.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def _unavailable(err: BaseException) -> bool:
    """A server that is down, unreachable or failing (5xx), as opposed to a request it refuses (4xx)."""
    if isinstance(err, mlflow.exceptions.MlflowException):
        return err.get_http_status_code() >= 500
    return isinstance(err, OSError)  # requests' ConnectionError and Timeout are OSErrors


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:300]


def _save_unsent(pending: list[mlflow.entities.Metric], path: Path, run_id: str, uri: str) -> None:
    """Write metrics the server never took to ``path`` (json), so they are not lost; nothing if none."""
    if not pending:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step} for m in pending]
    path.write_text(json.dumps({"tracking_uri": redact(uri), "run_id": run_id, "metrics": rows}, indent=1))
    print(f"warning: {len(rows)} metric value(s) of run {run_id} never reached MLflow; saved in {path}",
          file=sys.stderr, flush=True)


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def fetch_cell_runs(uri: str, sweep: str, history: bool = False) -> list[dict[str, Any]]:
    """Every cell run of a sweep (newest first): run_id, status, tags, params and latest metrics; with ``history``
    also every logged value of the evaluators' metrics (one request per metric and run: the report's curves)."""
    c = client(uri)
    exp = c.get_experiment_by_name(sweep)
    if exp is None:
        names = [e.name for e in c.search_experiments()]
        raise LookupError(f"no MLflow experiment {sweep!r} at {uri}; experiments there: {', '.join(names) or 'none'}")
    runs = c.search_runs([exp.experiment_id], filter_string="tags.cell != ''", order_by=["attributes.start_time DESC"],
                         max_results=5000)
    return [{"run_id": r.info.run_id, "status": r.info.status, "start_time": r.info.start_time,
             "end_time": r.info.end_time, "tags": dict(r.data.tags), "params": dict(r.data.params),
             "metrics": dict(r.data.metrics),
             "history": _histories(c, r.info.run_id, r.data.metrics) if history else {}} for r in runs]


def _histories(c: MlflowClient, run_id: str, metrics: dict[str, float]) -> dict[str, list[tuple[int, float]]]:
    """(step, value) of every evaluation logged during training, for the evaluators' metrics (curves)."""
    return {k: [(m.step, m.value) for m in c.get_metric_history(run_id, k)]
            for k in metrics if k.split("/", 1)[0] in HISTORY_PREFIXES}


def log_sweep_plan(uri: str, run_id: str, plan: list[dict[str, Any]]) -> None:
    """The cells a sweep invocation expects (id, studies, overrides), kept with its parent run for the report."""
    client(uri).log_text(run_id, json.dumps(plan, indent=1, default=str), PLAN_ARTIFACT)


def _planned_run(c: MlflowClient, uri: str, sweep: str) -> str | None:
    """The run id of the newest invocation of ``sweep`` that logged a cell plan, None when none did."""
    exp = c.get_experiment_by_name(sweep)
    if exp is None:
        raise LookupError(f"no MLflow experiment {sweep!r} at {uri}")
    for run in c.search_runs([exp.experiment_id], filter_string="tags.kind = 'sweep'",
                             order_by=["attributes.start_time DESC"], max_results=50):
        if PLAN_ARTIFACT in {a.path for a in c.list_artifacts(run.info.run_id)}:
            return run.info.run_id
    return None


def fetch_sweep_plan(uri: str, sweep: str) -> list[dict[str, Any]]:
    """The cell plan of the newest invocation of ``sweep`` (see ``log_sweep_plan``)."""
    c = client(uri)
    run_id = _planned_run(c, uri, sweep)
    if run_id is None:
        raise LookupError(f"sweep {sweep!r} at {uri} has no run with a cell plan ({PLAN_ARTIFACT}); "
                          "run experiments/design_grid.py for it first")
    with tempfile.TemporaryDirectory() as tmp:
        return json.loads(Path(c.download_artifacts(run_id, PLAN_ARTIFACT, tmp)).read_text())


def fetch_sweep_text(uri: str, sweep: str, path: str) -> str | None:
    """A text artifact (e.g. ``coverage/coverage.md``) of the newest sweep invocation that logged a plan, None if
    that invocation has no such artifact."""
    c = client(uri)
    run_id = _planned_run(c, uri, sweep)
    folder, _, _ = path.rpartition("/")
    if run_id is None or path not in {a.path for a in c.list_artifacts(run_id, folder or None)}:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        return Path(c.download_artifacts(run_id, path, tmp)).read_text(encoding="utf-8")


def log_evaluation(uri: str, metrics: dict[str, float], step: int, *, run_id: str | None = None,
                   experiment: str = "evaluations", tags: dict[str, str] | None = None) -> str:
    """Log evaluation metrics at ``step`` into ``run_id`` (refusing names already logged at that step, so nothing
    is overwritten or doubled) or into a new run of ``experiment``; returns the run id."""
    c = client(uri)
    if run_id is None:
        run_id = c.create_run(ensure_experiment(uri, experiment), tags={"kind": "evaluation", **(tags or {})}
                              ).info.run_id
    else:
        clash = [k for k in metrics if any(m.step == step for m in c.get_metric_history(run_id, k))]
        if clash:
            raise ValueError(f"run {run_id} already has {', '.join(sorted(clash))} at step {step}; "
                             "log into a new run instead (drop --into-training-run)")
        for k, v in (tags or {}).items():
            c.set_tag(run_id, f"evaluation.{k}", v)
    RunLogger(uri, run_id).log(step, metrics)
    if not c.get_run(run_id).info.end_time:
        c.set_terminated(run_id, FINISHED)
    return run_id
