"""A Train run resumed from storage restores its newest registered checkpoint that is whole: real Ray Train (one
worker), real checkpoint folders. Between the two fits the latest registered checkpoint is truncated, and a newer
complete but never registered checkpoint and a partial one (no manifest) are left beside them, as writers killed
at the wrong moment leave them: the previous registered checkpoint is restored, not the unregistered ones, and not
step 0."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import torch

pytestmark = pytest.mark.system


def _fit(storage: Path, out: Path):
    import ray.train
    from ray.train import ScalingConfig
    from ray.train.torch import TorchTrainer

    def _loop(config: dict[str, Any]) -> None:  # nested: pickled by value for the workers
        import torch
        from litlab.cluster.checkpoints import report_checkpoint, restore
        from litlab.config import RunConfig

        model = torch.nn.Linear(2, 2)
        restored = restore(model, "cell")  # the cell's folder in the Train run
        Path(config["out"]).write_text(json.dumps({"start": restored.step, "weight": float(model.weight[0, 0]),
                                                   "registered": len(restored.registered)}))
        for step in range(restored.step + 1, restored.step + 3):
            with torch.no_grad():
                model.weight.fill_(step)
            report_checkpoint(model, RunConfig(), "run", step, {"step": step}, sub="cell",
                              history={"lineage": [[1, 0]]})

    trainer = TorchTrainer(_loop, train_loop_config={"out": str(out)},
                           scaling_config=ScalingConfig(num_workers=1, resources_per_worker={"CPU": 0.5}),
                           run_config=ray.train.RunConfig(name="corrupt", storage_path=str(storage),
                                                          checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2)))
    return trainer.fit()


def _stray_checkpoints(run: Path) -> None:
    """A complete checkpoint at step 5 that was never registered, and a partial one at step 9."""
    import pyarrow.fs as pafs
    from litlab.cluster.checkpoint_store import new_name, write_folder

    buf = io.BytesIO()
    torch.save({"model": {"weight": torch.full((2, 2), 5.0), "bias": torch.zeros(2)}, "step": 5}, buf)
    write_folder(pafs.LocalFileSystem(), str(run), new_name(5), {"model.pt": buf.getvalue()}, {"step": 5})
    partial = run / new_name(9)
    partial.mkdir()
    (partial / "model.pt").write_bytes(buf.getvalue()[:200])


def test_a_truncated_latest_checkpoint_resumes_from_the_previous_registered_one(tmp_path):
    from litlab.cluster.session import connect, shutdown

    try:
        connect(num_cpus=2)
        first = _fit(tmp_path / "ray", tmp_path / "first.json")
        assert json.loads((tmp_path / "first.json").read_text())["start"] == 0
        latest = Path(first.checkpoint.path) / "model.pt"
        latest.write_bytes(latest.read_bytes()[:100])  # damaged in storage after it was registered
        _stray_checkpoints(latest.parent.parent)  # beside it, in the cell's folder
        _fit(tmp_path / "ray", tmp_path / "second.json")  # the same name and storage: Ray Train resumes the run
    finally:
        shutdown()
    resumed = json.loads((tmp_path / "second.json").read_text())
    assert resumed == {"start": 1, "weight": 1.0, "registered": 2}, resumed  # step 1: registered and whole
