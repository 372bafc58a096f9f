"""Train checkpoints: model, optimizer, schedule, step and the run's metric history, reported to Ray Train and
restored after a failure.

A checkpoint folder (see ``checkpoint_store``: whole or absent, verified against its manifest) holds ``model.pt``:
``{"model", "config", "run_id", "step"}`` (what ``python -m litlab.evaluate`` reads) and, for resumable ones,
``{"optimizer", "schedule", "data"}``; and ``history.json``: every metric value of the attempts that led to this
model, up to its step (``litlab.cluster.history``). ``model.pt`` loads with ``weights_only=True``: tensors and
plain containers only, never arbitrary pickles from storage.

Rank 0 writes the folder straight into the Train run's storage, under the cell's own subfolder (a Train run trains
the cells of a pack in turn, ``litlab.cluster.packs``: ``<Train run>/<cell run id>/checkpoint_...``), and reports it
to Ray Train as it is (no copy through the system temp dir). A restart restores the cell's newest complete
checkpoint that loads, those Ray Train registered first; each one skipped is named in a warning.
"""

from __future__ import annotations

import io
import json
import pickle
import posixpath
from dataclasses import dataclass, field
from typing import Any

import pyarrow.fs as pafs
import ray.train
import torch

from litlab.cluster import console
from litlab.cluster.checkpoint_store import (
    CheckpointError,
    candidates,
    new_name,
    newest_loadable,
    read_verified,
    write_folder,
)
from litlab.config import RunConfig, to_dict

FILE = "model.pt"
HISTORY = "history.json"
REQUIRED = ("model", "step")
__all__ = ["CheckpointError", "Restored", "cell_folder", "load_payload", "read_checkpoint", "registered_in",
           "report_checkpoint", "restore"]


@dataclass(frozen=True)
class Restored:
    """What a (re)started worker continues from: nothing (step 0) or a checkpoint."""

    step: int = 0
    state: dict[str, Any] | None = None  # optimizer, schedule, data position
    history: dict[str, Any] = field(default_factory=dict)  # the metric history up to ``step`` (history.json)
    folder: str | None = None  # the checkpoint's folder name
    attempt: int | None = None  # the attempt that wrote it
    registered: tuple[str, ...] = ()  # the folder names Ray Train registered for this run


def cell_folder(sub: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path) of a cell's checkpoint folder ``sub`` inside this Train run's storage."""
    store = ray.train.get_context().get_storage()
    return store.storage_filesystem, posixpath.join(store.experiment_fs_path, sub)


def registered_in(sub: str) -> tuple[str, ...]:
    """The folder names of the cell ``sub``'s checkpoints that Ray Train registered (committed), oldest first."""
    reported = ray.train.get_all_reported_checkpoints(consistency_mode=ray.train.CheckpointConsistencyMode.COMMITTED)
    paths = [c.checkpoint.path.rstrip("/") for c in reported]
    return tuple(posixpath.basename(p) for p in paths if posixpath.basename(posixpath.dirname(p)) == sub)


def report_checkpoint(model: torch.nn.Module, cfg: RunConfig, run_id: str, step: int, metrics: dict[str, Any],
                      state: dict[str, Any] | None = None, *, sub: str, history: dict[str, Any] | None = None,
                      attempt: int | None = None, write: bool = True) -> str | None:
    """Collective: every rank reports ``metrics``; rank 0 also writes the checkpoint into the cell's folder ``sub``
    of the Train run's storage and reports it (unless ``write`` is False: a stale attempt, see
    ``litlab.cluster.attempts.owns``). Returns the folder written (rank 0), else None."""
    ctx = ray.train.get_context()
    if ctx.get_world_rank() != 0 or not write:
        ray.train.report(metrics)
        return None
    payload = {"model": model.state_dict(), "config": to_dict(cfg), "run_id": run_id, "step": step, **(state or {})}
    buf = io.BytesIO()
    torch.save(payload, buf)  # in memory first: torch's file writer reports a full disk as a bare RuntimeError
    files = {FILE: buf.getvalue(), HISTORY: json.dumps(history or {}).encode()}
    (fs, run), name = cell_folder(sub), new_name(step)
    folder = write_folder(fs, run, name, files, {"step": step, "run_id": run_id, "attempt": attempt})
    ray.train.report(metrics, checkpoint=ray.train.Checkpoint(folder, filesystem=fs),
                     checkpoint_dir_name=posixpath.join(sub, name),
                     checkpoint_upload_mode=ray.train.CheckpointUploadMode.NO_UPLOAD)
    return folder


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
    except Exception as err:  # bad zip, wrong format: torch raises several types
        raise CheckpointError(f"cannot read checkpoint {where} ({len(data)} bytes): {type(err).__name__}: "
                              f"{err}") from err
    missing = [k for k in REQUIRED if not isinstance(payload, dict) or k not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {where} is not a litlab checkpoint: missing {', '.join(missing)}")
    return payload


def read_checkpoint(fs: pafs.FileSystem, folder: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(payload, history, manifest) of the complete checkpoint ``folder`` (CheckpointError if it cannot be used)."""
    files, manifest = read_verified(fs, folder)
    if FILE not in files:
        raise CheckpointError(f"checkpoint {folder} has no {FILE}")
    payload = load_payload(files[FILE], posixpath.join(folder, FILE))
    return payload, json.loads(files.get(HISTORY, b"{}")), manifest


def restore(model: torch.nn.Module, sub: str) -> Restored:
    """The newest complete checkpoint of the cell ``sub`` in this Train run that loads, registered ones first, then
    ones written but never registered; the model's weights are loaded in place. Nothing to restore: step 0. Raises
    if registered checkpoints exist but none can be read, rather than silently restarting."""
    (fs, run), registered = cell_folder(sub), registered_in(sub)
    ours, others = candidates(fs, run, registered)
    if not ours and not others:
        return Restored(registered=registered)
    try:
        folder, (payload, history, manifest) = newest_loadable([*ours, *others], lambda f: read_checkpoint(fs, f))
    except CheckpointError:
        if ours:
            raise
        console.say(f"no complete checkpoint in {run} (only partial writes, never registered): starting from step 0",
                    warn=True)
        return Restored(registered=registered)
    if ours and folder != ours[0]:
        console.say(f"restored the checkpoint {folder} (step {payload['step']}): the latest registered, {ours[0]}, "
                    "cannot be read", warn=True)
    model.load_state_dict(payload["model"])
    state = {k: payload[k] for k in ("optimizer", "schedule", "data") if k in payload}
    return Restored(int(payload["step"]), state or None, history, posixpath.basename(folder),
                    manifest.get("attempt"), registered)
