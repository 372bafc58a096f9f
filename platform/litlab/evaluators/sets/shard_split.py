"""Locate and read a split of the demo shards (``python -m litlab.data.build``) for evaluation.

``root`` may be the data root holding the split folders (default: $LITLAB_DATA_ROOT or ~/.cache/litlab/data)
or the split folder itself; a local path or an ``s3://`` URI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litlab import storage
from litlab.config import default_data_root
from litlab.data.shards import STATS, iter_rows


def split_folder(root: str | Path | None, split: str) -> str:
    """The folder of ``split``: ``root`` itself when it holds shards, else ``root/split``."""
    base = str(root if root is not None else default_data_root())
    base = base if storage.is_remote(base) else str(Path(base).expanduser())
    if storage.is_file(storage.join(base, STATS)) or (storage.is_dir(base) and storage.list_files(base, (".parquet",))):
        return base
    folder = storage.join(base, split)
    if not storage.is_dir(folder):
        raise FileNotFoundError(f"shard split {split!r} not found: {folder} (build it with "
                                f"`python -m litlab.data.build --root {base}` or `make data`)")
    return folder


def read_split(folder: str | Path, columns: list[str]) -> list[dict[str, Any]]:
    """Every row of the split, in shard order (evaluation splits are small: a few thousand rows)."""
    rows = list(iter_rows(folder, columns=columns))
    if not rows:
        raise ValueError(f"shard split {folder} has no rows")
    return rows
