"""ensure_dedup_split on real shards with real Ray: planted copies of fmnist-test images are removed exactly, the
original split stays byte-identical, the filtered split is a finished shard folder, a second call reuses it, and
the CLI prints the same counts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

PLANTED = 9


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def root(tiny_shards, tmp_path) -> tuple[Path, list[str]]:
    """train/ = every tiny_shards train row plus exact copies of PLANTED fmnist-test rows under new keys."""
    from litlab.data.shards import Record, iter_rows, write_shards

    for split in ("fmnist-test", "emoji-heldout"):
        (tmp_path / split).symlink_to(tiny_shards / split)
    rows = list(iter_rows(tiny_shards / "train"))
    copies = [r for i, r in enumerate(iter_rows(tiny_shards / "fmnist-test")) if i % 20 == 1][:PLANTED]
    records = [Record(r["key"], r["jpg"], r["txt"], json.loads(r["json"])) for r in rows]
    for i, r in enumerate(copies):  # spread through the shards
        records.insert(i * len(rows) // PLANTED, Record(f"planted/{i}", r["jpg"], r["txt"], {}))
    write_shards(records, tmp_path / "train", rows_per_shard=200)
    return tmp_path, [f"fmnist-test:{r['key']}" for r in copies]


def reference(cfg):
    """The same dedup in one process, without Ray: what the Ray pipeline must reproduce."""
    from litlab.data.dedup import build_eval_index, dedup_rows, plan_for
    from litlab.data.shards import iter_rows

    plan = plan_for(cfg)
    method = plan.make_method()
    index = build_eval_index(plan.sources, method, plan.threshold)
    rows = iter_rows(Path(cfg.data.root) / "train", ["key", *method.columns], batch_size=64)
    return dedup_rows(({k: [r[k]] for k in r} for r in rows), index, method)


def test_dedup_split_removes_planted_copies_and_is_reused(root, capsys):
    from litlab.cluster.dedup import ensure_dedup_split, main
    from litlab.cluster.session import shutdown
    from litlab.config import RunConfig, apply_overrides
    from litlab.data.dedup import MANIFEST
    from litlab.data.shards import iter_rows, read_stats, verify_split

    data, planted = root
    before = digests(data / "train")
    train_keys = [r["key"] for r in iter_rows(data / "train", ["key"])]
    base = {"data.root": str(data), "data.dedup": "test", "eval.evals": "zeroshot/fmnist-test,retrieval/emoji-heldout"}
    exact = apply_overrides(RunConfig(), {**base, "data.dedup_method": "exact"})
    phash = apply_overrides(RunConfig(), {**base, "data.dedup_method": "phash", "data.dedup_threshold": 4})
    try:
        split, counts = ensure_dedup_split(exact)
        expected = reference(exact)
        assert counts == {**expected.counts(), "eval_images": 200 + read_stats(data / "emoji-heldout").rows}
        assert counts["tune_rows"] == len(train_keys)
        manifest = json.loads((data / split / MANIFEST).read_text())
        assert {f"planted/{i}": key for i, key in enumerate(planted)}.items() <= \
            {k: v["eval"] for k, v in manifest["removed"].items()}.items()
        assert counts["tune_removed"] == PLANTED + sum(not k.startswith("planted/") for k in manifest["removed"])
        assert manifest["tune_removed"] == counts["tune_removed"] and manifest["mode"] == "test"
        assert set(planted) <= set(manifest["eval_matched_keys"])
        kept = [r["key"] for r in iter_rows(data / split, ["key"])]
        assert kept == [k for k in train_keys if k not in manifest["removed"]]  # order kept, nothing else lost
        assert verify_split(data / split) and read_stats(data / split).rows == len(kept)
        assert digests(data / "train") == before  # the originals are only read

        written = digests(data / split)
        assert ensure_dedup_split(exact) == (split, counts)  # reused: nothing rebuilt
        assert digests(data / split) == written
        assert "reusing" in capsys.readouterr().out

        split4, counts4 = ensure_dedup_split(phash)
        assert split4 != split and counts4 == {**reference(phash).counts(), "eval_images": counts["eval_images"]}
        assert counts4["tune_removed"] >= PLANTED
        assert not list(data.glob(".*.partial"))

        assert main(["--root", str(data), "--mode", "test", "--evals", "zeroshot/fmnist-test",
                     "retrieval/emoji-heldout", "--method", "exact"]) == 0
        out = capsys.readouterr().out
        assert f"split: {split}" in out and f"tune_removed={counts['tune_removed']}" in out
    finally:
        shutdown()
    assert digests(data / "train") == before


def test_dedup_split_on_s3_from_img2dataset_style_shards(s3, tiny_shards):
    """A tuning split on S3 as users' img2dataset output holds it (no sha1/phash columns, no _stats.json): the
    hashes are computed from the images, the filtered split is written beside it, and a second call reuses it."""
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq
    from litlab import storage
    from litlab.cluster.dedup import ensure_dedup_split
    from litlab.cluster.session import shutdown
    from litlab.config import RunConfig, apply_overrides
    from litlab.data.dedup import MANIFEST
    from litlab.data.shards import iter_rows

    fs, _ = pafs.FileSystem.from_uri("s3://litlab-data/raw")
    pafs.copy_files(str(tiny_shards / "fmnist-test"), "litlab-data/fmnist-test", destination_filesystem=fs)
    rows = [{k: r[k] for k in ("key", "jpg", "txt")} for r in list(iter_rows(tiny_shards / "train"))[:60]]
    copies = list(iter_rows(tiny_shards / "fmnist-test", ["key", "jpg", "txt"]))[5:9]
    rows[10:10] = [{"key": f"planted/{i}", "jpg": r["jpg"], "txt": r["txt"]} for i, r in enumerate(copies)]
    for i, chunk in enumerate((rows[:32], rows[32:])):
        pq.write_table(pa.Table.from_pylist(chunk), f"litlab-data/raw/{i:05d}.parquet", filesystem=fs)
    before = {i.path: i.size for i in fs.get_file_info(pafs.FileSelector("litlab-data/raw"))}
    cfg = apply_overrides(RunConfig(), {"data.root": "s3://litlab-data", "data.train": "raw", "data.dedup": "test",
                                        "data.dedup_method": "exact", "eval.evals": "zeroshot/fmnist-test"})
    try:
        split, counts = ensure_dedup_split(cfg)
        assert counts == {"tune_rows": 64, "tune_removed": 4, "eval_images": 200, "eval_matched": 4}
        out = f"s3://litlab-data/{split}"
        manifest = json.loads(storage.read_text(f"{out}/{MANIFEST}"))
        assert sorted(manifest["removed"]) == [f"planted/{i}" for i in range(4)]
        assert [r["key"] for r in iter_rows(out, ["key"])] == [r["key"] for r in rows if "planted" not in r["key"]]
        assert ensure_dedup_split(cfg) == (split, counts)
    finally:
        shutdown()
    assert {i.path: i.size for i in fs.get_file_info(pafs.FileSelector("litlab-data/raw"))} == before
