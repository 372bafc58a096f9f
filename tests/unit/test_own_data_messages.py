"""What a user bringing their own data sees: not-a-fault errors found through the chains Ray builds, shard builds that
name the real flag and module and leave no empty folder, tokenizer training on img2dataset output."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from litlab.config import ConfigError
from litlab.data.shards import Record, iter_rows, read_stats, write_shards
from litlab.errors import DataError, not_a_fault


class TaskError(Exception):
    """Shaped like a Ray task error: the worker's exception in ``cause``, no ``__cause__``."""

    def __init__(self, cause: Exception) -> None:
        super().__init__("task failed")
        self.cause = cause


def test_not_a_fault_finds_the_innermost_config_or_data_error():
    data = DataError("no caption column")
    assert not_a_fault(data) is data and not_a_fault(RuntimeError("worker died")) is None
    try:
        raise RuntimeError("decode failed") from data
    except RuntimeError as err:
        assert not_a_fault(err) is data
    assert not_a_fault(TaskError(data)) is data
    outer = ConfigError("outer")
    outer.__cause__ = TaskError(data)
    assert not_a_fault(outer) is data  # the innermost: the error the user's code raised
    try:
        try:
            raise data
        except DataError:
            raise OSError("disk gone while handling it") from None
    except OSError as err:
        assert not_a_fault(err) is None  # implicit chaining is another failure


@pytest.fixture(scope="module")
def records(tiny_shards) -> list[Record]:
    rows = [r for _, r in zip(range(6), iter_rows(tiny_shards / "train", ["key", "jpg", "txt"]), strict=False)]
    return [Record(r["key"], r["jpg"], r["txt"], {}) for r in rows]


def test_rebuilding_a_finished_folder_names_the_cli_flag(tmp_path, records):
    write_shards(records, tmp_path / "out")
    with pytest.raises(FileExistsError, match=r"to rebuild it pass --overwrite \(overwrite=True from Python\)"):
        write_shards(records, tmp_path / "out")


def test_an_unfinished_folder_names_the_build_module_that_exists(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(FileNotFoundError, match=r"`python -m litlab.cluster.build_shards SOURCE --input \.\.\. --out "):
        read_stats(tmp_path / "half")


def test_a_build_that_fails_before_any_shard_leaves_no_folder(tmp_path, records):
    def broken():
        raise FileNotFoundError("img2dataset output not found: /data/cc12m")
        yield  # a generator, like a source's records

    with pytest.raises(FileNotFoundError, match="/data/cc12m"):
        write_shards(broken(), tmp_path / "out")
    assert not (tmp_path / "out").exists()

    def half():
        yield from records[:4]
        raise OSError("input went away")

    with pytest.raises(OSError, match="went away"):
        write_shards(half(), tmp_path / "half", rows_per_shard=2)
    assert sorted(p.name for p in (tmp_path / "half").iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    existing = tmp_path / "mine"
    existing.mkdir()
    with pytest.raises(FileNotFoundError):
        write_shards(broken(), existing)
    assert existing.is_dir()  # a folder the user had stays


def test_tokenizers_train_on_img2dataset_output_and_explain_other_folders(tmp_path, records, capsys):
    from litlab.tokenizers.__main__ import main

    folder = tmp_path / "i2d"
    folder.mkdir()
    table = pa.table({"caption": [r.txt for r in records] + [None], "key": [str(i) for i in range(7)],
                      "status": ["success"] * 6 + ["failed_to_download"],
                      "jpg": pa.array([r.jpg for r in records] + [None], pa.binary())})
    pq.write_table(table, folder / "00000.parquet")
    out = tmp_path / "tok.json"
    assert main(["train", "--split", str(folder), "--kind", "wordpiece", "--vocab-size", "60", "--out", str(out)]) == 0
    assert "on 6 captions" in capsys.readouterr().out and out.is_file()
    (tmp_path / "raw" / "00000").mkdir(parents=True)
    Path(tmp_path / "raw" / "00000" / "000000001.jpg").write_bytes(records[0].jpg)
    assert main(["train", "--split", str(tmp_path / "raw"), "--kind", "wordpiece", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "build_shards folder --input" in err and "'txt'" not in err
