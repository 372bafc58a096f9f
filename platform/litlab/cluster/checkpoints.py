"""Train checkpoints: model, optimizer, schedule and step, reported to Ray Train and restored after a failure.

A checkpoint folder holds ``model.pt``: ``{"model", "config", "run_id", "step"}`` (what ``python -m
litlab.evaluate`` reads) and, for resumable ones, ``{"optimizer", "schedule"}``. Loaded with
``weights_only=True``: tensors and plain containers only, never arbitrary pickles from storage.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import ray.train
import torch

from litlab.cluster.tracking import RunLogger
from litlab.config import RunConfig, to_dict

FILE = "model.pt"


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
        torch.save(payload, Path(tmp) / FILE)
        if artifact_to is not None:
            artifact_to.log_artifact(str(Path(tmp) / FILE), "checkpoint")
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))


def restore(model: torch.nn.Module) -> tuple[int, dict[str, Any] | None]:
    """(step to start at, optimizer/schedule/data-position state) from the latest checkpoint; (0, None) if none.

    Loads the model weights in place. Raises if the checkpoint cannot be read, rather than silently restarting."""
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return 0, None
    with checkpoint.as_directory() as folder:
        path = Path(folder) / FILE
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise RuntimeError(f"cannot read checkpoint {checkpoint.path}/{FILE}: {err}") from err
    model.load_state_dict(payload["model"])
    state = {k: payload[k] for k in ("optimizer", "schedule", "data") if k in payload}
    return int(payload["step"]), (state or None)
