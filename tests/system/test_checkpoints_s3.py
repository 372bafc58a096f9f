"""Checkpoints on S3 (a real moto_server on loopback; S3 has no rename): a writer killed before its manifest leaves
a folder that is never loaded and is swept; a whole one verifies; one damaged in storage afterwards is refused. No
Ray."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.system
RUN = "s3://litlab-ckpt/run"


def _die_before_the_manifest() -> int:
    """A process writing a checkpoint to S3, SIGKILL-like (os._exit: no cleanup) right before its manifest."""
    code = f"""
import os
import litlab.cluster.checkpoint_store as store
from litlab import storage
real = store._write
def dying(fs, path, data, local):
    if path.endswith(store.MANIFEST):
        os._exit(9)
    real(fs, path, data, local)
store._write = dying
fs, path = storage.resolve({RUN!r})
store.write_folder(fs, path, store.new_name(30), {{"model.pt": b"x" * 100_000}}, {{"step": 30}})
"""
    return subprocess.run([sys.executable, "-c", code], check=False).returncode


def test_s3_checkpoints_are_whole_or_never_loaded_and_partial_ones_are_swept(s3):
    from litlab import storage
    from litlab.cluster.checkpoint_store import (
        CheckpointError,
        candidates,
        new_name,
        newest_loadable,
        read_verified,
        sweep,
        write_folder,
    )

    fs, run = storage.resolve(RUN)
    registered = write_folder(fs, run, new_name(10), {"model.pt": b"a" * 1000, "history.json": b"{}"}, {"step": 10})
    damaged = write_folder(fs, run, new_name(20), {"model.pt": b"b" * 1000}, {"step": 20})
    files, manifest = read_verified(fs, registered)
    assert files["model.pt"] == b"a" * 1000 and manifest["step"] == 10
    s3.put_object(Bucket="litlab-ckpt", Key=f"{damaged.split('/', 1)[1]}/model.pt", Body=b"b" * 10)  # after the fact
    assert _die_before_the_manifest() == 9
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="litlab-ckpt", Prefix="run/")["Contents"]]
    partial = {k.rsplit("/", 1)[1] for k in keys if k.startswith("run/checkpoint_000000030_")}
    assert partial - {""} == {"model.pt"}  # beside a folder marker at most: no manifest
    ours, others = candidates(fs, run, [registered.rsplit("/", 1)[1]])
    assert ours == [registered] and [o.rsplit("/", 1)[1][:20] for o in others] == ["checkpoint_000000030",
                                                                                   "checkpoint_000000020"]
    with pytest.raises(CheckpointError, match="(?s)partial write.*does not match its manifest"):
        newest_loadable(others, lambda f: read_verified(fs, f))
    removed = sweep(fs, run, [registered])
    assert sorted(removed) == sorted(others)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="litlab-ckpt", Prefix="run/")["Contents"]]
    assert {k.rsplit("/", 1)[1] for k in keys} - {""} == {"model.pt", "history.json", "manifest.json"}
    assert all(k.startswith(registered.split("/", 1)[1]) for k in keys if not k.endswith("/"))
