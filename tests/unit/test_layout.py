"""The training split's layout (litlab.data.layout) and what the decoder keeps of img2dataset's rows: each kind of
folder a user points data.train at either trains as it is or is a DataError naming the path and the fix."""

from __future__ import annotations

import tarfile
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from litlab.data.layout import folder_layout, split_layout
from litlab.data.shards import iter_rows
from litlab.data.transforms import decode_rows, preprocess_batch
from litlab.errors import DataError


def i2d_table(rows: list[dict], failed: int = 0) -> pa.Table:
    """img2dataset's --output_format parquet columns, in its order, for real rows; ``failed`` rows it could not
    download (status failed_to_download, null jpg) appended."""
    n = len(rows) + failed
    return pa.table({
        "caption": [r["txt"] for r in rows] + ["lost"] * failed,
        "url": [f"http://127.0.0.1/{i}.jpg" for i in range(n)],
        "key": [f"{i:09d}" for i in range(n)],
        "status": ["success"] * len(rows) + ["failed_to_download"] * failed,
        "error_message": [None] * len(rows) + ["HTTP Error 404: File not found"] * failed,
        "width": pa.array([64] * len(rows) + [None] * failed, pa.int64()),
        "jpg": pa.array([r["jpg"] for r in rows] + [None] * failed, pa.binary()),
    })


@pytest.fixture(scope="module")
def rows(tiny_shards) -> list[dict]:
    return [r for _, r in zip(range(12), iter_rows(tiny_shards / "train", ["key", "jpg", "txt"]), strict=False)]


@pytest.fixture
def i2d_root(tmp_path, rows) -> Path:
    """An img2dataset parquet output folder as the split 'i2d' under a data root (two files, no _stats.json)."""
    folder = tmp_path / "i2d"
    folder.mkdir()
    pq.write_table(i2d_table(rows[:6], failed=2), folder / "00000.parquet")
    pq.write_table(i2d_table(rows[6:]), folder / "00001.parquet")
    (folder / "00000_stats.json").write_text("{}")
    return tmp_path


def test_litlab_shards_read_jpg_txt_and_every_caption(tiny_shards):
    layout = split_layout(str(tiny_shards), "train")
    assert layout.columns == {"jpg": "jpg", "txt": "txt", "txts": "txts"} and layout.key == "key"
    assert layout.files and all(f.endswith(".parquet") for f in layout.files)


def test_img2dataset_parquet_output_reads_its_caption_and_status_columns(i2d_root):
    layout = split_layout(str(i2d_root), "i2d")
    assert layout.columns == {"jpg": "jpg", "caption": "txt", "status": "status"} and len(layout.files) == 2


def test_named_columns_are_used_and_checked(i2d_root):
    layout = split_layout(str(i2d_root), "i2d", caption_column="url")
    assert layout.caption == "url" and layout.captions == ""
    with pytest.raises(DataError, match=r"has no caption column 'text'; its columns: caption, url, key, status.*"
                                        r"--set data.caption_column=COLUMN"):
        split_layout(str(i2d_root), "i2d", caption_column="text")
    with pytest.raises(DataError, match=r"column 'width' of .*00000.parquet is int64, not binary"):
        split_layout(str(i2d_root), "i2d", image_column="width")


def test_a_file_without_the_first_files_columns_is_named(i2d_root, rows):
    pq.write_table(i2d_table(rows[:2]).drop(["caption"]), i2d_root / "i2d" / "00002.parquet")
    with pytest.raises(DataError, match=r"00002.parquet has no column 'caption' \(the split's first file has it"):
        split_layout(str(i2d_root), "i2d")
    assert len(split_layout(str(i2d_root), "i2d", check_all=False).files) == 3  # a run reads the first footer only


def test_a_missing_split_names_the_layout_and_the_folders_there(tmp_path):
    (tmp_path / "cc12m").mkdir()
    with pytest.raises(DataError, match=r"no split folder .*/train \(data.root=.*, data.train='train'\); the "
                                        r"layout is <data.root>/<data.train>/\*.parquet; folders there: cc12m. Set"):
        split_layout(str(tmp_path), "train")
    with pytest.raises(DataError, match=r"data.root does not exist: set data.root to the folder holding your split"):
        split_layout(str(tmp_path / "nope"), "train")


def test_webdataset_output_gets_the_one_line_build(tmp_path, rows):
    folder = tmp_path / "wds"
    folder.mkdir()
    with tarfile.open(folder / "00000.tar", "w") as tar:
        tar.add(__file__, arcname="000000000.txt")
    pq.write_table(i2d_table(rows[:2]).drop(["jpg"]), folder / "00000.parquet")  # img2dataset's metadata beside it
    expected = (rf"holds webdataset tars .*`python -m litlab.cluster.build_shards webdataset --input {folder} "
                rf"--out {tmp_path}/wds-shards`, then --set data.train=wds-shards")
    with pytest.raises(DataError, match=expected):
        split_layout(str(tmp_path), "wds")
    (folder / "00000.parquet").unlink()  # tars alone
    with pytest.raises(DataError, match=expected):
        split_layout(str(tmp_path), "wds")


def test_a_folder_of_image_files_gets_the_folder_build(tmp_path):
    (tmp_path / "pics" / "00000").mkdir(parents=True)
    (tmp_path / "pics" / "00000" / "000000001.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(DataError, match=r"holds image files .*build_shards folder --input .*pics --out"):
        split_layout(str(tmp_path), "pics")


def test_an_unreadable_footer_is_named(i2d_root):
    (i2d_root / "i2d" / "00001.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"cannot read the parquet footer of .*00001.parquet"):
        split_layout(str(i2d_root), "i2d")


def test_folder_layout_is_the_split_layout_of_its_parent(i2d_root):
    assert folder_layout(str(i2d_root / "i2d")) == split_layout(str(i2d_root), "i2d")


def test_img2dataset_failed_rows_are_skipped_and_counted_as_no_image(rows):
    table = i2d_table(rows[:3], failed=2).to_pydict()
    skipped: Counter[str] = Counter()
    kept, images, captions = decode_rows(table["jpg"], table["caption"], 16, statuses=table["status"],
                                         skipped=skipped)
    assert kept == [0, 1, 2] and len(images) == 3 and captions == [r["txt"] for r in rows[:3]]
    assert skipped == {"no_image": 2}
    downloaded_but_marked = decode_rows([rows[0]["jpg"]], ["a cat"], 16, statuses=["failed_to_resize"])
    assert downloaded_but_marked[0] == []  # the status decides, whatever the bytes


def test_preprocess_batch_reads_the_status_column(rows):
    batch = {"jpg": [rows[0]["jpg"], None], "txt": [rows[0]["txt"], "gone"],
             "status": ["success", "failed_to_download"]}
    skipped: Counter[str] = Counter()
    out = preprocess_batch(batch, size=16, tokenizer="wordpiece_minilm", max_len=8, skipped=skipped)
    assert out["image"].shape == (1, 16, 16, 3) and skipped == {"no_image": 1}
