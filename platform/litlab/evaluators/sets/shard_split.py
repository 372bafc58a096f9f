"""Locate and read a split of the demo shards (``python -m litlab.data.build``) for evaluation.

``root`` may be the data root holding the split folders (default: $LITLAB_DATA_ROOT or ~/.cache/litlab/data)
or the split folder itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litlab.config import default_data_root
from litlab.data.shards import STATS, iter_rows


def split_folder(root: str | Path | None, split: str) -> Path:
    """The folder of ``split``: ``root`` itself when it holds shards, else ``root/split``."""
    base = Path(root if root is not None else default_data_root()).expanduser()
    if (base / STATS).exists() or any(base.glob("*.parquet")):
        return base
    folder = base / split
    if not folder.is_dir():
        raise FileNotFoundError(f"shard split {split!r} not found: {folder} (build it with "
                                f"`python -m litlab.data.build --root {base}` or `make data`)")
    return folder


def read_split(folder: Path, columns: list[str]) -> list[dict[str, Any]]:
    """Every row of the split, in shard order (evaluation splits are small: a few thousand rows)."""
    rows = list(iter_rows(folder, columns=columns))
    if not rows:
        raise ValueError(f"shard split {folder} has no rows")
    return rows
