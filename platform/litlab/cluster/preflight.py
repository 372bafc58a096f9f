"""The preflight's checks of where a sweep runs (its cells' own checks: ``litlab.preflight``): the MLflow tracking
server answers and accepts the credentials, the checkpoint storage takes a real write, and the cells fit the
cluster. Each returns the problem in words (what, where, the fix) or None; nothing here starts a trial.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import mlflow

from litlab import storage
from litlab.cluster.session import worker_env
from litlab.cluster.tracking import _short_http, client, redact
from litlab.sizing import Node

CREDENTIALS = "MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"


def mlflow_problem(uri: str) -> str | None:
    """Why the tracking store at ``uri`` cannot take this sweep's runs: a server that does not answer or refuses
    the credentials, a sqlite store whose folder cannot be written."""
    if uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).parent
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK):
            return (f"--mlflow-uri {uri}: cannot create or write the store's folder ({existing} is "
                    f"{'not a folder' if not existing.is_dir() else 'not writable'}); pass a store in a folder you "
                    f"can write")
        return None
    try:
        with _short_http():
            client(uri).search_experiments(max_results=1)
    except (mlflow.exceptions.MlflowException, OSError) as err:
        return _mlflow_error(uri, err)
    return None


def _mlflow_error(uri: str, err: BaseException) -> str:
    cause = err.__cause__ or err.__context__  # MLflow wraps requests' errors (OSErrors) in an MlflowException
    if isinstance(err, OSError) or isinstance(cause, OSError):
        return (f"MLflow at {redact(uri)} does not answer ({type(cause or err).__name__}); start the server "
                f"(`make cluster-up` starts one) or pass the right --mlflow-uri")
    status = err.get_http_status_code() if isinstance(err, mlflow.exceptions.MlflowException) else 0
    if status in (401, 403):
        return (f"MLflow at {redact(uri)} refused the credentials (HTTP {status}): set {CREDENTIALS} for a user "
                f"who may create experiments and runs")
    return f"MLflow at {redact(uri)} answered with an error: {_first_line(err)}"


def storage_problem(uri: str) -> str | None:
    """Why checkpoints cannot be written under ``uri`` (a real small write and delete, local or s3://)."""
    if not storage.is_remote(uri) and not os.path.isabs(os.path.expanduser(uri)):
        return f"--storage {uri}: Ray Train needs an absolute path or an s3:// URI"
    probe = storage.join(uri, f".litlab-preflight-{uuid.uuid4().hex[:8]}")
    try:
        storage.write_bytes_atomic(probe, b"preflight\n")
        fs, path = storage.resolve(probe)
        fs.delete_file(path)
    except OSError as err:
        return (f"--storage {uri}: a test write failed ({_first_line(err)}); pass a writable folder or bucket (for "
                f"s3://: the AWS credentials, and AWS_ENDPOINT_URL for an S3-compatible server)")
    return None


def local_nodes() -> list[Node]:
    """The one node a local Ray cluster would have (its CPUs as Ray counts them, its GPUs), without starting it."""
    import torch
    from ray._private.utils import get_num_cpus

    return [Node(float(get_num_cpus()), float(torch.cuda.device_count()))]


def hub_offline() -> bool:
    """Whether the workers will run with HF_HUB_OFFLINE on (the driver's value, else the session's default)."""
    return worker_env().get("HF_HUB_OFFLINE", "1").lower() not in ("0", "false", "no", "off", "")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]
