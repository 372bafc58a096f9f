"""Failures lose nothing on disk: shard files appear whole or not at all, and a full disk is a clear error naming
the file that leaves earlier data readable. (Checkpoint files: tests/system/test_failures_checkpoint_files.py.)"""

from __future__ import annotations

import errno

import numpy as np
import pytest
from PIL import Image


def _noise_records(n: int, prefix: str) -> list:
    from litlab.data.shards import Record, encode_jpeg

    rng = np.random.default_rng(0)
    return [Record(f"{prefix}/{i}", encode_jpeg(Image.fromarray(rng.integers(0, 255, (160, 160, 3), np.uint8))),
                   f"noise {i}", {}) for i in range(n)]


def test_a_full_disk_while_writing_shards_names_the_shard_and_keeps_earlier_shards(small_disk):
    from litlab.data.shards import iter_rows, read_stats, write_shards

    first = write_shards(_noise_records(4, "a"), small_disk / "a", rows_per_shard=2)
    with pytest.raises(OSError, match=rf"no space left on device while writing {small_disk}/b/part-\d{{5}}\.parquet"):
        write_shards(_noise_records(80, "b"), small_disk / "b", rows_per_shard=5)  # ~3 MB of noise
    assert read_stats(small_disk / "a") == first and len(list(iter_rows(small_disk / "a", ["key"]))) == 4
    left = sorted(p.name for p in (small_disk / "b").iterdir())
    assert left and all(n.startswith("part-") and n.endswith(".parquet") for n in left), left  # no temporaries
    assert "_stats.json" not in left  # the folder reads as unfinished
    assert len(list(iter_rows(small_disk / "b", ["key"]))) == 5 * len(left)  # every written shard is whole


def test_write_bytes_atomic_on_a_full_disk_leaves_the_old_file(tmp_path, monkeypatch):
    """Without a mount: the writer's stream fails with ENOSPC after a few bytes."""
    import pyarrow.fs as pafs
    from litlab import storage

    target = tmp_path / "file.bin"
    storage.write_bytes_atomic(str(target), b"old contents")

    class Full:
        def __init__(self, stream) -> None:
            self.stream = stream

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.stream.close()

        def write(self, data: bytes) -> None:
            self.stream.write(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

    class FullDisk:
        real = pafs.LocalFileSystem()

        def __getattr__(self, name: str):
            return getattr(self.real, name)

        def open_output_stream(self, path: str) -> Full:
            return Full(self.real.open_output_stream(path))

    monkeypatch.setattr(storage, "resolve", lambda uri: (FullDisk(), str(uri)))
    with pytest.raises(OSError, match=f"no space left on device while writing {target}"):
        storage.write_bytes_atomic(str(target), b"new contents that do not fit")
    assert target.read_bytes() == b"old contents" and sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]
