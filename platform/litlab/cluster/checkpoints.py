"""Train checkpoints: model, optimizer, schedule and step, reported to Ray Train and restored after a failure.

A checkpoint folder holds ``model.pt``: ``{"model", "config", "run_id", "step"}`` (what ``python -m
litlab.evaluate`` reads) and, for resumable ones, ``{"optimizer", "schedule"}``. Loaded with
``weights_only=True``: tensors and plain containers only, never arbitrary pickles from storage.

``model.pt`` is written under a hidden temporary name and renamed, so a crash (or a full disk) never leaves half a
file under the final name. A restart restores the newest checkpoint that loads: a truncated, missing or refused
``model.pt`` is named in a warning and the previous checkpoint of the same Train run is tried.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import posixpath
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import ray.train
import torch

from litlab import storage
from litlab.cluster.tracking import RunLogger
from litlab.config import RunConfig, to_dict

FILE = "model.pt"
REQUIRED = ("model", "step")
log = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: unreadable, truncated, not a litlab checkpoint, or refused as unsafe."""


def report_checkpoint(model: torch.nn.Module, cfg: RunConfig, run_id: str, step: int, metrics: dict[str, Any],
                      state: dict[str, Any] | None = None, artifact_to: RunLogger | None = None) -> None:
    """Collective: every rank reports ``metrics``; rank 0 also saves and reports the checkpoint (and logs it as the
    MLflow artifact ``checkpoint/model.pt`` when given ``artifact_to``)."""
    if ray.train.get_context().get_world_rank() != 0:
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory() as tmp:
        payload = {"model": model.state_dict(), "config": to_dict(cfg), "run_id": run_id, "step": step,
                   **(state or {})}
        path = save_payload(payload, Path(tmp))
        if artifact_to is not None:
            artifact_to.log_artifact(str(path), "checkpoint")
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))


def save_payload(payload: dict[str, Any], folder: Path) -> Path:
    """``folder/model.pt``, written whole or not at all (temporary name, fsync, rename); a failed write (e.g. no
    space left on device) removes the temporary file and raises an OSError naming the path."""
    final = Path(folder) / FILE
    tmp = Path(folder) / f".{FILE}.{uuid.uuid4().hex[:8]}.tmp"
    buf = io.BytesIO()
    torch.save(payload, buf)  # in memory first: torch's file writer reports a full disk as a bare RuntimeError
    try:
        with open(tmp, "wb") as f:
            f.write(buf.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise storage.write_error(str(final), err) from err
    return final


def load_payload(data: bytes, where: str) -> dict[str, Any]:
    """A checkpoint's contents from its bytes, tensors and plain containers only (``weights_only=True``): a file
    holding any other object is refused and nothing in it runs."""
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"refused checkpoint {where}: it holds objects other than tensors and plain "
                              f"containers, which are never loaded (weights_only=True; nothing in it ran): "
                              f"{first}") from err
    except Exception as err:  # truncated file, bad zip, wrong format: torch raises several types
        raise CheckpointError(f"cannot read checkpoint {where} ({len(data)} bytes): {type(err).__name__}: "
                              f"{err}") from err
    missing = [k for k in REQUIRED if not isinstance(payload, dict) or k not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {where} is not a litlab checkpoint: missing {', '.join(missing)}")
    return payload


def read_checkpoint(fs: pafs.FileSystem, folder: str) -> dict[str, Any]:
    """The payload of the checkpoint folder ``folder`` on ``fs`` (CheckpointError if it cannot be used)."""
    path = posixpath.join(folder, FILE)
    try:
        with fs.open_input_stream(path) as f:
            data = f.read()
    except OSError as err:  # FileNotFoundError included
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from err
    return load_payload(data, path)


def newest_loadable(folders: list[str], load: Callable[[str], dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """(folder, payload) of the first of ``folders`` (newest first) that loads; each one that does not is named in
    a warning. CheckpointError listing every attempt when none loads."""
    tried: list[str] = []
    for folder in folders:
        try:
            return folder, load(folder)
        except CheckpointError as err:
            tried.append(str(err))
            log.warning("checkpoint %s cannot be restored (%s); trying the previous one", folder, err)
    raise CheckpointError(f"none of the {len(folders)} checkpoint(s) of this run can be restored; tried, "
                          "newest first:\n  " + "\n  ".join(tried or ["(none found)"]))


def checkpoint_folders(fs: pafs.FileSystem, latest: str) -> list[str]:
    """``latest``, then the other ``checkpoint_*`` folders of the same Train run, newest first (Ray names them by
    time, so the names sort by age)."""
    parent = posixpath.dirname(latest.rstrip("/"))
    try:
        infos = fs.get_file_info(pafs.FileSelector(parent))
    except OSError:
        return [latest]
    others = sorted((i.path for i in infos if i.type == pafs.FileType.Directory
                     and posixpath.basename(i.path).startswith("checkpoint_")
                     and i.path.rstrip("/") != latest.rstrip("/")), reverse=True)
    return [latest, *others]


def restore(model: torch.nn.Module) -> tuple[int, dict[str, Any] | None]:
    """(step to start at, optimizer/schedule/data-position state) from the newest checkpoint that loads; (0, None)
    if there is none. Loads the model weights in place. Raises if checkpoints exist but none can be read, rather
    than silently restarting."""
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return 0, None
    fs = checkpoint.filesystem
    folder, payload = newest_loadable(checkpoint_folders(fs, checkpoint.path), lambda f: read_checkpoint(fs, f))
    if folder != checkpoint.path:
        print(f"restored the earlier checkpoint {folder} (step {payload['step']}): the latest, {checkpoint.path}, "
              "cannot be read", flush=True)
    model.load_state_dict(payload["model"])
    state = {k: payload[k] for k in ("optimizer", "schedule", "data") if k in payload}
    return int(payload["step"]), (state or None)
