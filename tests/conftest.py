"""Shared fixtures: real images and tiny real shards built from the data that ships here."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# sweeps' console logs (litlab.cluster.sweep_console) in a temp folder, not the user's ~/.cache/litlab/logs
os.environ.setdefault("LITLAB_LOG_DIR", os.path.join(tempfile.gettempdir(), "litlab-test-logs"))
sys.path.insert(0, str(REPO / "experiments"))
sys.path.insert(0, str(REPO / "experiments" / "benchmarks"))  # benchmarks import figures as scripts do


@pytest.fixture(scope="session")
def tiny_shards(tmp_path_factory) -> Path:
    """train/ (emoji + Open Clip Art pairs), train-fmnist/ (the emoji + Fashion-MNIST train pairs: the smoke grid's
    in-distribution tuning), emoji-heldout/ and fmnist-test/ at a few hundred rows each (~5 s)."""
    from litlab.data.build import build_demo_shards

    root = tmp_path_factory.mktemp("shards")
    build_demo_shards(root, fmnist_train=300, fmnist_test=200, emoji_limit=300, openclipart_limit=200,
                      progress=lambda s: None, splits=("train", "train-fmnist", "emoji-heldout", "fmnist-test"))
    return root


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A real 2 MiB tmpfs (root only; skipped where mounting is not permitted)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True,
                          check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
