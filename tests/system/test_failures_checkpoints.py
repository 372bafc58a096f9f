"""A Train run resumed from storage whose latest checkpoint is corrupt restores the previous one instead of failing
or restarting from zero: real Ray Train (one worker), real checkpoint folders, the latest truncated in between."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.system


def _fit(storage: Path, out: Path):
    import ray.train
    from ray.train import ScalingConfig
    from ray.train.torch import TorchTrainer

    def _loop(config: dict[str, Any]) -> None:  # nested: pickled by value for the workers
        import ray.train
        import torch
        from litlab.cluster.checkpoints import restore, save_payload

        model = torch.nn.Linear(2, 2)
        start, _ = restore(model)
        Path(config["out"]).write_text(json.dumps({"start": start, "weight": float(model.weight[0, 0])}))
        for step in range(start + 1, start + 3):
            with torch.no_grad():
                model.weight.fill_(step)
            with tempfile.TemporaryDirectory() as tmp:
                save_payload({"model": model.state_dict(), "step": step}, Path(tmp))
                ray.train.report({"step": step}, checkpoint=ray.train.Checkpoint.from_directory(tmp))

    trainer = TorchTrainer(_loop, train_loop_config={"out": str(out)},
                           scaling_config=ScalingConfig(num_workers=1, resources_per_worker={"CPU": 0.5}),
                           run_config=ray.train.RunConfig(name="corrupt", storage_path=str(storage),
                                                          checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2)))
    return trainer.fit()


def test_a_truncated_latest_checkpoint_resumes_from_the_previous_one(tmp_path):
    from litlab.cluster.session import connect, shutdown

    try:
        connect(num_cpus=2)
        first = _fit(tmp_path / "ray", tmp_path / "first.json")
        assert json.loads((tmp_path / "first.json").read_text())["start"] == 0
        latest = Path(first.checkpoint.path) / "model.pt"
        latest.write_bytes(latest.read_bytes()[:100])  # a crash mid-upload: half a file under the final name
        _fit(tmp_path / "ray", tmp_path / "second.json")  # the same name and storage: Ray Train resumes the run
    finally:
        shutdown()
    resumed = json.loads((tmp_path / "second.json").read_text())
    assert resumed == {"start": 1, "weight": 1.0}, resumed  # step 2 was unreadable: step 1 restored, not step 0
