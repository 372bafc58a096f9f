"""Shared fixtures: real images and tiny real shards built from the data that ships here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
sys.path.insert(0, str(REPO / "experiments"))
sys.path.insert(0, str(REPO / "ablations"))


@pytest.fixture(scope="session")
def tiny_shards(tmp_path_factory) -> Path:
    """train/ (emoji + Open Clip Art pairs), emoji-heldout/ and fmnist-test/ at a few hundred rows each (not
    train-fmnist/: no test needs it; ~4 s)."""
    from litlab.data.build import build_demo_shards

    root = tmp_path_factory.mktemp("shards")
    build_demo_shards(root, fmnist_test=200, emoji_limit=300, openclipart_limit=200, progress=lambda s: None,
                      splits=("train", "emoji-heldout", "fmnist-test"))
    return root
