"""Checkpoints to S3: Ray Train storage on a real S3-compatible server on loopback (moto_server), credentials from
the standard AWS environment chain, never passed on the command line."""

from __future__ import annotations

import os

import pytest
from test_smoke_grid import TINY

pytestmark = pytest.mark.system


def test_checkpoints_land_in_s3(s3, tiny_shards, tmp_path):
    import design_grid
    from litlab.cluster.session import shutdown

    sets = [a for s in [f"data.root={tiny_shards}", "train.checkpoint_every=3", *TINY] for a in ("--set", s)]
    try:
        code = design_grid.main(["--preset", "smoke", "--cell", "setup=Lu", "--sweep", "sys-s3", "--mlflow-uri",
                                 f"sqlite:///{tmp_path / 'mlflow.db'}", "--storage", "s3://litlab-ckpt/ray", *sets])
    finally:
        shutdown()
    assert code == 0
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="litlab-ckpt", Prefix="ray/").get("Contents", [])]
    assert sum(k.endswith("/model.pt") for k in keys) >= 2, keys  # the step-3 checkpoint and the final one
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in (tmp_path / "mlflow.db").read_bytes().decode("latin-1")
