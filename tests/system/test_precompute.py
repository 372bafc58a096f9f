"""train.precompute: Ray Data embeds the training split once with the locked tower, training reads the cache
(never loading the tower), the final zero-shot evaluation uses the real tower, and a second run reuses the cache.
"""

from __future__ import annotations

import json

import pytest
from tiny_runs import TINY

pytestmark = pytest.mark.system


def test_lu_trains_from_precomputed_embeddings_and_reuses_them(tiny_shards, tmp_path, capsys):
    import design_grid
    from litlab.cluster.session import shutdown
    from litlab.cluster.tracking import fetch_cell_runs

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sets = [a for s in [f"data.root={tiny_shards}", "train.precompute=true", *TINY] for a in ("--set", s)]
    args = ["--preset", "smoke", "--cell", "setup=Lu", "--mlflow-uri", uri, "--storage", str(tmp_path / "ray"), *sets]
    try:
        assert design_grid.main([*args, "--sweep", "pre-1"]) == 0
        manifests = list((tiny_shards / "train.zimg").glob("*/_MANIFEST.json"))
        assert len(manifests) == 1
        first = json.loads(manifests[0].read_text())
        train_rows = json.loads((tiny_shards / "train" / "_stats.json").read_text())["rows"]
        assert first["rows"] == train_rows and first["dim"] == 1280 and first["size"] == 32
        assert design_grid.main([*args, "--sweep", "pre-2"]) == 0
    finally:
        shutdown()
    assert json.loads(manifests[0].read_text()) == first  # reused, not rebuilt
    assert capsys.readouterr().out.count("precomputed ") == 1
    for sweep in ("pre-1", "pre-2"):
        (run,) = fetch_cell_runs(uri, sweep)
        assert run["status"] == "FINISHED" and run["params"]["train.precompute"] == "True"
        assert 0.0 <= run["metrics"]["zeroshot/fmnist-test/top1"] <= 1.0
