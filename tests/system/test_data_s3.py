"""Data at scale on real services: shards on a real S3 server (moto_server on loopback), built in parallel with
Ray Data, streamed into a TorchTrainer run that counts the bad rows it drops in MLflow; a shard that vanishes is
an error naming it."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from PIL import Image
from tiny_runs import TINY

pytestmark = pytest.mark.system

BAD = {"corrupt_image": 2, "empty_caption": 2, "too_large": 1}


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _bad_rows(good_jpg: bytes) -> list[dict]:
    """Rows the builder would have refused, as users' own img2dataset output can hold them."""
    bomb = _png(Image.new("L", (9000, 9000)))
    return [{"key": "bad/noise", "jpg": b"\xff\xd8 not a jpeg", "txt": "noise"},
            {"key": "bad/truncated", "jpg": good_jpg[: len(good_jpg) // 3], "txt": "cut short"},
            {"key": "bad/empty", "jpg": good_jpg, "txt": ""},
            {"key": "bad/blank", "jpg": good_jpg, "txt": "  \t "},
            {"key": "bad/bomb", "jpg": bomb, "txt": "a huge blank image"}]


def _upload_split(local, uri: str) -> None:
    fs, path = pafs.FileSystem.from_uri(uri)
    pafs.copy_files(str(local), path, destination_filesystem=fs)


def test_training_streams_s3_shards_and_logs_what_it_drops(s3, tiny_shards, tmp_path):
    import design_grid
    from litlab.cluster.session import shutdown
    from litlab.cluster.tracking import client, fetch_cell_runs
    from litlab.data.shards import iter_rows

    good = list(iter_rows(tiny_shards / "train", ["key", "jpg", "txt"]))[:90]
    wide = Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)  # 16-bit: kept, scaled
    good.append({"key": "odd/16bit", "jpg": _png(wide), "txt": "a gray gradient"})
    rows = good[:45] + _bad_rows(good[0]["jpg"]) + good[45:]
    fs, _ = pafs.FileSystem.from_uri("s3://litlab-data/raw")
    for i, chunk in enumerate((rows[:48], rows[48:])):  # img2dataset-style output: no _stats.json
        pq.write_table(pa.Table.from_pylist(chunk), f"litlab-data/raw/{i:05d}.parquet", filesystem=fs)
    _upload_split(tiny_shards / "fmnist-test", "s3://litlab-data/fmnist-test")

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sets = ["data.root=s3://litlab-data", "data.train=raw", "eval.evals=zeroshot/fmnist-test", *TINY,
            "optim.steps=8", "train.log_every=4"]
    try:
        code = design_grid.main(["--preset", "smoke", "--cell", "setup=Lu", "--sweep", "sys-s3-data",
                                 "--mlflow-uri", uri, "--storage", str(tmp_path / "ray"),
                                 *[a for s in sets for a in ("--set", s)]])
    finally:
        shutdown()
    assert code == 0
    (run,) = fetch_cell_runs(uri, "sys-s3-data")
    assert run["status"] == "FINISHED"
    # Lu learns from the S3 rows: train/loss fell by 0.20, 0.55 and 0.77 from step 4 to step 8 in 3 measured runs
    loss = [m.value for m in client(uri).get_metric_history(run["run_id"], "train/loss")]  # steps 4 and 8
    assert loss[-1] < loss[0], loss
    # 8 steps x 16 rows = 128 > 96 rows: every block was decoded at least once, each bad row counted
    for reason, n in BAD.items():
        history = client(uri).get_metric_history(run["run_id"], f"data/skipped/{reason}")
        assert [m.step for m in history] == [4, 8] and history[-1].value >= n, (reason, history)


def test_parallel_build_to_s3_matches_the_local_build_and_trains(s3, tmp_path):
    import ray
    from litlab.cluster.build_shards import build_local, build_parallel
    from litlab.cluster.data import train_dataset
    from litlab.cluster.session import connect, shutdown
    from litlab.config import RunConfig, override
    from litlab.data.shards import iter_rows, read_stats
    from litlab.data.sources.base import make_source

    source = make_source("noto-emoji", {"limit": "130"})
    local = build_local(source, str(tmp_path / "local"), rows_per_shard=50)
    try:
        connect(num_cpus=2)
        remote = build_parallel(source, "s3://litlab-data/emoji/train", rows_per_shard=50)
        assert remote == read_stats("s3://litlab-data/emoji/train")
        assert (remote.rows, remote.files, remote.skipped) == (local.rows, local.files, local.skipped)
        cols = ["key", "txt", "sha1"]
        assert list(iter_rows("s3://litlab-data/emoji/train", cols)) == list(iter_rows(tmp_path / "local", cols))
        cfg = override(override(RunConfig(), "data.root", "s3://litlab-data/emoji"), "image.size", 32)
        batch = train_dataset(cfg).take_batch(8)
        assert batch["image"].shape == (8, 32, 32, 3) and batch["ids"].shape == (8, cfg.text.max_len)
    finally:
        ray.shutdown() if ray.is_initialized() else shutdown()


def test_a_shard_that_vanishes_mid_run_is_an_error_naming_it(tiny_shards, tmp_path):
    import shutil

    from litlab.cluster.data import train_dataset
    from litlab.cluster.session import connect, shutdown
    from litlab.cluster.shard_batches import ShardBatches
    from litlab.config import RunConfig, override
    from litlab.data.build import build_demo_shards

    root = tmp_path / "data"
    build_demo_shards(root, emoji_limit=50, openclipart_limit=300, rows_per_shard=100, splits=["train"],
                      progress=lambda s: None)
    cfg = override(override(RunConfig(), "data.root", str(root)), "image.size", 16)
    try:
        connect(num_cpus=2)
        ds = train_dataset(cfg)
        batches = iter(ShardBatches(16, 1, str(root / "train"), shard=ds))
        next(batches)
        gone = sorted((root / "train").glob("*.parquet"))[-1]
        shutil.move(gone, tmp_path / "elsewhere.parquet")
        with pytest.raises(FileNotFoundError, match=f"vanished during the run: {gone}"):
            for _ in range(100):  # the next pass over the data needs the missing file
                next(batches)
    finally:
        shutdown()


def test_every_source_builds_on_s3_and_streams_into_training(s3, tmp_path):
    """Users' formats read their input from S3 too (the fixture's files uploaded, paths rewritten to s3://);
    the shipped data reads from its package. Every split is then streamed by the training pipeline."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
    from fixtures_shipped_sources import FIXTURES as SHIPPED
    from fixtures_user_sources import FIXTURES as USER
    from litlab.cluster.build_shards import build_local
    from litlab.cluster.data import train_dataset
    from litlab.cluster.session import connect, shutdown
    from litlab.config import RunConfig, apply_overrides
    from litlab.data.sources import SOURCES
    from litlab.data.sources.base import make_source

    assert sorted({**USER, **SHIPPED}) == SOURCES.names()
    built = {}
    for name in SOURCES.names():
        local = tmp_path / name
        options = {**USER, **SHIPPED}[name](local)
        if name in USER:  # move the input to S3 and point the options at it
            _upload_split(local, f"s3://litlab-data/inputs/{name}")
            options = {k: v.replace(str(local), f"s3://litlab-data/inputs/{name}") for k, v in options.items()}
            assert any(v.startswith("s3://") for v in options.values()), options
        built[name] = build_local(make_source(name, options), f"s3://litlab-data/shards/{name}", rows_per_shard=5)
        assert built[name].rows > 0, (name, built[name])
    try:
        connect(num_cpus=2)
        for name, stats in built.items():
            cfg = apply_overrides(RunConfig(), {"data.root": "s3://litlab-data/shards", "data.train": name,
                                                "image.size": 16})
            rows = sum(len(b["ids"]) for b in train_dataset(cfg).iter_batches(batch_size=64))
            assert rows == stats.rows, name
    finally:
        shutdown()
