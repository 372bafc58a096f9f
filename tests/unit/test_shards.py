"""Parquet shards: round trip, skipped rows, atomic and refusing writes (no Debian data needed)."""

import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from litlab.data.hashing import content_hash, phash, to_signed
from litlab.data.shards import STATS, Record, encode_jpeg, iter_rows, read_stats, shard_files, write_shards
from PIL import Image


def gradient(seed: int, size: int = 32) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    base = rng.integers(0, 128, 3)
    rgb = np.stack([(x * 4 + base[0]) % 256, (y * 4 + base[1]) % 256, np.full_like(x, base[2])], -1)
    return Image.fromarray(rgb.astype(np.uint8))


def records(n: int, start: int = 0) -> list[Record]:
    return [Record(f"test/{i:03d}", encode_jpeg(gradient(i)), f"caption {i}", {"label": i % 3, "i": i})
            for i in range(start, start + n)]


def test_round_trip_keeps_order_bytes_and_meta(tmp_path):
    recs = records(5)
    stats = write_shards(recs, tmp_path / "s", rows_per_shard=2)
    assert (stats.rows, stats.shards, stats.skipped) == (5, 3, {})
    assert stats.files == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert read_stats(tmp_path / "s") == stats
    assert stats.bytes == sum((tmp_path / "s" / f).stat().st_size for f in stats.files)
    rows = list(iter_rows(tmp_path / "s"))
    assert [r["key"] for r in rows] == [r.key for r in recs]
    assert [r["jpg"] for r in rows] == [r.jpg for r in recs]
    assert [json.loads(r["json"]) for r in rows] == [r.meta for r in recs]
    decoded = np.asarray(Image.open(io.BytesIO(rows[3]["jpg"])))
    assert decoded.shape == (32, 32, 3)
    assert np.abs(decoded.astype(int) - np.asarray(gradient(3), int)).mean() < 4  # JPEG q95 is near lossless


def test_columns_are_img2dataset_ones_plus_dedup_hashes(tmp_path):
    recs = records(2)
    write_shards(recs, tmp_path)
    schema = pq.read_schema(shard_files(tmp_path)[0])
    assert schema.names == ["key", "jpg", "txt", "json", "txts", "sha1", "phash"]
    assert [str(t) for t in schema.types] == ["string", "binary", "string", "string", "list<element: string>",
                                                "string", "int64"]
    rows = list(iter_rows(tmp_path, columns=["sha1", "phash"]))
    assert [r["sha1"] for r in rows] == [content_hash(r.jpg) for r in recs]
    assert [r["phash"] for r in rows] == [to_signed(phash(r.jpg)) for r in recs]
    assert list(iter_rows(tmp_path, columns=["txt"])) == [{"txt": "caption 0"}, {"txt": "caption 1"}]
    assert list(iter_rows(tmp_path, columns=["txts"])) == [{"txts": ["caption 0"]}, {"txts": ["caption 1"]}]


def test_several_captions_keep_all_the_nonblank_ones_first_is_txt(tmp_path):
    jpg = encode_jpeg(gradient(0))
    write_shards([Record("c/0", jpg, "", {}, captions=(" ", "a dog", "a brown dog ")),
                  Record("c/1", jpg, "", {}, captions=("", "  "))], tmp_path)
    assert list(iter_rows(tmp_path, columns=["txt", "txts"])) == [{"txt": "a dog", "txts": ["a dog", "a brown dog"]}]
    assert read_stats(tmp_path).skipped == {"empty_caption": 1}


def test_bad_records_are_skipped_and_counted_and_nothing_else_lost(tmp_path):
    good = records(4)
    jpg = good[0].jpg
    bad = [Record("bad/empty", jpg, "", {}), Record("bad/blank", jpg, "  \n", {}),
           Record("bad/noise", b"not an image at all", "noise", {}),
           Record("bad/truncated", jpg[: len(jpg) // 2], "truncated", {}),
           Record(good[1].key, jpg, "same key again", {})]
    mixed = [good[0], bad[0], good[1], bad[1], bad[2], good[2], bad[3], bad[4], good[3]]
    stats = write_shards(mixed, tmp_path, rows_per_shard=3)
    assert stats.skipped == {"corrupt_image": 2, "duplicate_key": 1, "empty_caption": 2}
    assert [r["key"] for r in iter_rows(tmp_path, columns=["key"])] == [r.key for r in good]
    assert stats.rows == 4 and stats.shards == 2


def test_refuses_a_finished_folder_unless_overwrite(tmp_path):
    write_shards(records(5), tmp_path, rows_per_shard=2)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_shards(records(1), tmp_path)
    stats = write_shards(records(1, start=7), tmp_path, overwrite=True)
    assert stats.files == ["part-00000.parquet"] and len(shard_files(tmp_path)) == 1  # stale shards gone
    assert [r["key"] for r in iter_rows(tmp_path)] == ["test/007"]


def test_an_interrupted_write_is_cleaned_and_leaves_no_temporary_files(tmp_path):
    def failing():
        yield from records(3)
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        write_shards(failing(), tmp_path, rows_per_shard=2)
    assert not (tmp_path / STATS).exists()  # unfinished: no stats
    write_shards(records(1), tmp_path)  # allowed, and the old partial shard is removed
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["_stats.json", "part-00000.parquet"]


def test_missing_stats_and_shards_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        read_stats(tmp_path)
    with pytest.raises(FileNotFoundError, match="no parquet shards"):
        shard_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(iter_rows(tmp_path / "nope"))


def test_source_skips_are_added_after_the_records_run_out(tmp_path):
    dropped: dict[str, int] = {}

    def source():
        yield from records(2)
        dropped["not_rendered"] = 3

    assert write_shards(source(), tmp_path, source_skipped=dropped).skipped == {"not_rendered": 3}


def test_encode_jpeg_converts_to_rgb_on_white():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    for img in (rgba, Image.new("L", (8, 8), 100), Image.new("P", (8, 8))):
        out = Image.open(io.BytesIO(encode_jpeg(img)))
        assert out.format == "JPEG" and out.mode == "RGB"
    assert np.asarray(Image.open(io.BytesIO(encode_jpeg(rgba)))).min() > 240
