"""Shard sources for the formats users bring: image folder + .txt, COCO captions, csv/tsv, img2dataset's parquet
and webdataset tars. Real photos in real files; every bad input is skipped and counted, nothing else lost."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import tarfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fixtures_user_sources import (
    ASTRONAUT,
    BAD_SKIPS,
    CAT,
    COCO_NOTES,
    FIXTURES,
    i2d_sample,
    jpeg,
    png,
    wds_sample,
    write_coco,
    write_csv,
    write_folder,
    write_i2d_parquet,
    write_img2dataset,
    write_tar,
    write_webdataset,
)
from litlab.data.shards import iter_rows, write_shards
from litlab.data.sources import img2dataset
from litlab.data.sources.base import SOURCES, iter_records, make_source
from litlab.data.transforms import load_image
from PIL import Image


def build(name: str, options: dict[str, str], out: Path, rows_per_shard: int = 2):
    """(stats, rows by key) of shards built from source ``name``, the way the one-process builder does."""
    source = make_source(name, options)
    skipped: dict[str, int] = {}
    stats = write_shards(iter_records(source, source.items(), skipped), out, rows_per_shard=rows_per_shard,
                         source_skipped=skipped)
    return stats, {r["key"]: r for r in iter_rows(out)}


def image_of(row: dict) -> Image.Image:
    img = Image.open(io.BytesIO(row["jpg"]))
    assert img.format == "JPEG"
    return img


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_source_builds_shards_that_decode_and_reads_bad_inputs_as_counted_skips(name, tmp_path):
    assert name in SOURCES
    stats, rows = build(name, FIXTURES[name](tmp_path / "clean"), tmp_path / "out")
    assert stats.rows == 3 and stats.skipped == {} and all(k.startswith(f"{name}/") for k in rows)
    for row in rows.values():
        assert load_image(row["jpg"], 32).shape == (32, 32, 3) and row["txt"] == row["txt"].strip() != ""
        assert {"width": 64, "height": 48}.items() <= json.loads(row["json"]).items()
    bad_stats, bad_rows = build(name, FIXTURES[name](tmp_path / "bad", bad=True), tmp_path / "bad-out")
    assert bad_stats.skipped == BAD_SKIPS[name]
    same = ("txts", "jpg", "json")
    assert {k: [r[c] for c in same] for k, r in bad_rows.items()} == {k: [r[c] for c in same] for k, r in rows.items()}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_sources_and_their_items_pickle_and_list_in_the_same_order(name, tmp_path):
    source = make_source(name, FIXTURES[name](tmp_path, bad=True))
    items = list(source.items())
    assert pickle.loads(pickle.dumps(source)) == source and pickle.loads(pickle.dumps(items)) == items
    assert list(source.items()) == items and len(pickle.dumps(items[0])) < 400


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_a_missing_input_is_an_error_naming_it(name, tmp_path):
    options = {"input": str(tmp_path / "nowhere")} | ({"images": str(tmp_path)} if name == "coco" else {})
    with pytest.raises(FileNotFoundError, match="not found: .*nowhere"):
        make_source(name, options).items()


def test_folder_keys_captions_sidecar_meta_and_jpeg_bytes_kept(tmp_path):
    options = write_folder(tmp_path)
    _, rows = build("folder", options, tmp_path / "out")
    assert sorted(rows) == ["folder/a/astronaut", "folder/a/coffee", "folder/b/cat"]
    astronaut, coffee, cat = rows["folder/a/astronaut"], rows["folder/a/coffee"], rows["folder/b/cat"]
    assert astronaut["jpg"] == jpeg(ASTRONAUT) and astronaut["txt"] == "an astronaut in a white suit"
    assert json.loads(astronaut["json"]) == {"path": "a/astronaut.jpg", "width": 64, "height": 48}
    assert json.loads(coffee["json"])["format"] == "png" and image_of(coffee).size == (64, 48)  # re-encoded
    assert json.loads(cat["json"]) == {"license": "cc0", "n": 3, "path": "b/cat.jpg", "width": 64, "height": 48}
    (Path(options["input"]) / "b" / "cat.txt").write_text("a tabby cat\n\na cat looking up\n")
    _, rows = build("folder", options | {"caption_per_line": "true"}, tmp_path / "lines")
    assert rows["folder/b/cat"]["txts"] == ["a tabby cat", "a cat looking up"]


def test_folder_without_images_names_the_extensions(tmp_path):
    (tmp_path / "only.txt").write_text("a caption")
    with pytest.raises(ValueError, match=r"holds no image files \(\.bmp, .*\.jpg"):
        make_source("folder", {"input": str(tmp_path)}).items()


def test_coco_keeps_every_caption_in_annotation_id_order(tmp_path):
    _, rows = build("coco", write_coco(tmp_path), tmp_path / "out")
    assert sorted(rows) == ["coco/000000000139", "coco/000000000285", "coco/000000000632"]
    cat = rows["coco/000000000632"]
    assert cat["txts"] == [c for i, c in reversed(COCO_NOTES) if i == 632] and len(cat["txts"]) == 5
    assert cat["txt"] == "a cat with green eyes" and cat["jpg"] == jpeg(CAT)
    assert json.loads(cat["json"]) == {"image_id": 632, "file_name": "000000000632.jpg", "width": 64, "height": 48}
    assert rows["coco/000000000139"]["txts"] == ["a woman in a space suit", "an astronaut in a white suit"]


def test_coco_input_may_be_the_dataset_folder_with_coco_layout(tmp_path):
    write_coco(tmp_path)
    _, rows = build("coco", {"input": str(tmp_path / "coco")}, tmp_path / "out")
    assert len(rows) == 3


def test_coco_json_errors_name_what_is_wrong(tmp_path):
    options = write_coco(tmp_path)
    path = Path(options["input"])
    path.write_text(json.dumps({"info": {}, "images": []}))
    with pytest.raises(ValueError, match=r"not a COCO captions json: no 'annotations' \(it has: images, info\)"):
        make_source("coco", options).items()
    path.write_text(json.dumps({"images": [], "annotations": [{"id": 1, "image_id": 1, "bbox": [0, 0, 1, 1]}]}))
    with pytest.raises(ValueError, match="no 'caption' .*bbox, id, image_id.*use captions_"):
        make_source("coco", options).items()
    with pytest.raises(FileNotFoundError, match="images folder not found: .*elsewhere"):
        make_source("coco", options | {"images": str(tmp_path / "elsewhere")}).items()


def test_csv_merges_consecutive_rows_of_an_image_and_keeps_other_columns(tmp_path):
    _, rows = build("csv", write_csv(tmp_path), tmp_path / "out")
    assert sorted(rows) == ["csv/img/astronaut", "csv/img/cat", "csv/img/coffee"]
    assert rows["csv/img/cat"]["txts"] == ["a tabby cat", "a cat looking up"]
    assert rows["csv/img/coffee"]["txt"] == 'a cup of coffee, "black"'  # quoting and commas
    assert json.loads(rows["csv/img/cat"]["json"]) == {"license": "cc-by", "path": "img/cat.jpg", "line": 4,
                                                       "width": 64, "height": 48}


def test_tsv_gz_with_an_images_root_and_the_default_columns(tmp_path):
    write_csv(tmp_path)
    tsv = tmp_path / "lists" / "pairs.tsv.gz"
    tsv.parent.mkdir()
    tsv.write_bytes(gzip.compress(b"path\tcaption\nastronaut.jpg\tan astronaut\ncat.jpg\ta cat\tx\n"))
    _, rows = build("csv", {"input": str(tsv), "images": str(tmp_path / "csv" / "img")}, tmp_path / "out")
    assert {k: r["txt"] for k, r in rows.items()} == {"csv/astronaut": "an astronaut", "csv/cat": "a cat"}


def test_csv_errors_list_the_columns_and_choices(tmp_path):
    options = write_csv(tmp_path)
    with pytest.raises(ValueError, match=r"no column 'caption' \(caption_column\); its columns: 'filepath', 'title'"):
        make_source("csv", options | {"caption_column": "caption"}).items()
    with pytest.raises(ValueError, match="delimiter=':' is not one of: ',', ';', '|', 'tab'"):
        make_source("csv", options | {"delimiter": ":"}).items()
    Path(options["input"]).write_text("filepath\ttitle\nimg/cat.jpg\ta cat\n")
    with pytest.raises(ValueError, match="looks tab-separated: pass delimiter=tab"):
        make_source("csv", options).items()
    Path(options["input"]).write_text("")
    with pytest.raises(ValueError, match="is empty: expected a header row"):
        make_source("csv", options).items()


def test_img2dataset_reads_its_parquet_output_with_meta_and_status_skips(tmp_path):
    _, rows = build("img2dataset", write_img2dataset(tmp_path, bad=True), tmp_path / "out")
    assert sorted(rows) == ["img2dataset/00000/000000000", "img2dataset/00000/000000001", "img2dataset/00001/000010000"]
    row = rows["img2dataset/00000/000000000"]
    assert row["jpg"] == jpeg(ASTRONAUT) and row["txt"] == "an astronaut in a white suit"
    assert json.loads(row["json"]) == {"url": "https://example.com/0/0.jpg", "key": "000000000", "status": "success",
                                       "width": 64, "height": 48, "original_width": 640, "original_height": 480,
                                       "file": "00000"}


def test_img2dataset_txt_column_and_errors_listing_the_columns(tmp_path):
    write_i2d_parquet(tmp_path / "t" / "a.parquet", [{"key": "k1", "txt": "a cat", "jpg": jpeg(CAT)}],
                      pa.schema([("key", "string"), ("txt", "string"), ("jpg", "binary")]))
    _, rows = build("img2dataset", {"input": str(tmp_path / "t" / "a.parquet")}, tmp_path / "out")
    assert list(rows) == ["img2dataset/a/k1"] and rows["img2dataset/a/k1"]["txt"] == "a cat"
    with pytest.raises(ValueError, match="no caption column 'title'; its columns: key, txt, jpg"):
        list(make_source("img2dataset", {"input": str(tmp_path / "t"), "caption_column": "title"}).items())
    meta_only = tmp_path / "wds-meta" / "00000.parquet"  # what img2dataset writes beside webdataset tars
    write_i2d_parquet(meta_only, [{"key": "k", "caption": "c"}],
                      pa.schema([("key", "string"), ("caption", "string")]))
    with pytest.raises(ValueError, match="no image column 'jpg' \\(its columns: key, caption\\).*'webdataset' source"):
        list(make_source("img2dataset", {"input": str(meta_only.parent)}).items())


def test_img2dataset_reads_each_row_group_once_in_item_order(tmp_path):
    samples = [i2d_sample(0, i, f"photo number {i}", jpeg(i % 5)) for i in range(1000)]
    write_i2d_parquet(tmp_path / "big" / "00000.parquet", samples)
    source = make_source("img2dataset", {"input": str(tmp_path / "big")})
    img2dataset.read_row_group.cache_clear()
    tic = time.perf_counter()
    records = list(iter_records(source, source.items(), {}))
    assert len(records) == 1000 and records[999].txt == "photo number 999"
    assert img2dataset.read_row_group.cache_info().misses == 10  # 10 row groups of 100 rows
    assert time.perf_counter() - tic < 3


def test_webdataset_keys_members_json_meta_and_loads_in_any_order(tmp_path):
    options = write_webdataset(tmp_path)
    _, rows = build("webdataset", options, tmp_path / "out")
    assert sorted(rows) == ["webdataset/00000/000000000", "webdataset/00000/000000001", "webdataset/00001/000010000"]
    row = rows["webdataset/00000/000000000"]
    assert row["jpg"] == jpeg(ASTRONAUT) and row["txt"] == "an astronaut in a white suit"
    assert json.loads(row["json"]) == {"url": "https://example.com/000000000", "status": "success", "tar": "00000",
                                       "key": "000000000", "width": 64, "height": 48}
    source = make_source("webdataset", options)
    items = list(source.items())
    backwards = [source.load(i) for i in reversed(items)]  # each load seeks to its own sample
    assert [r.key for r in backwards] == sorted(rows, reverse=True)
    assert [r.jpg for r in backwards] == [rows[k]["jpg"] for k in sorted(rows, reverse=True)]


def test_webdataset_long_member_names_sub_folders_and_chosen_extensions(tmp_path):
    key = "sub/" + "x" * 150  # over tar's 100-character name field: a pax header precedes the member
    write_tar(tmp_path / "w" / "nested" / "s.tar", wds_sample(key, png(CAT), "a long cat", "webp")
              + wds_sample("sub/short", jpeg(ASTRONAUT), "an astronaut"))
    _, rows = build("webdataset", {"input": str(tmp_path / "w"), "image_ext": "webp"}, tmp_path / "out")
    assert list(rows) == [f"webdataset/nested/s/{key}"] and rows[f"webdataset/nested/s/{key}"]["txt"] == "a long cat"
    with tarfile.open(tmp_path / "w" / "nested" / "s.tar") as tar:
        assert any(m.name.startswith("sub/short") for m in tar)  # skipped as no_image: it has no .webp


def test_sources_keep_jpeg_bytes_and_encode_other_formats_once(tmp_path):
    _, rows = build("webdataset", write_webdataset(tmp_path), tmp_path / "out")
    coffee = rows["webdataset/00000/000000001"]
    assert json.loads(coffee["json"])["format"] == "png"
    decoded = np.asarray(image_of(coffee), dtype=int)
    original = np.asarray(Image.open(io.BytesIO(png(1))).convert("RGB"), dtype=int)
    assert np.abs(decoded - original).mean() < 4  # one JPEG encode at quality 95
