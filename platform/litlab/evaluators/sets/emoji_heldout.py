"""Held-out emoji retrieval: the ``emoji-heldout`` split of the demo shards, images vs their CLDR names.

The split (``python -m litlab.data.build``) holds the Noto renders of ~10 % of the emoji, chosen by a hash
of the key and never in the train split. One caption per image: its CLDR short name (the row's ``txt``).
``root`` = the data root (default $LITLAB_DATA_ROOT or ~/.cache/litlab/data) or the split folder itself.
"""

from __future__ import annotations

from pathlib import Path

from litlab.evaluators.sets.assemble import build_retrieval
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.shard_split import read_split, split_folder
from litlab.evaluators.sets.types import RetrievalSet

SHARD_SPLIT = "emoji-heldout"


@EVAL_SETS.register("emoji-heldout")
def emoji_heldout(root: str | Path | None, size: int, max_images: int = 0) -> RetrievalSet:
    """Held-out emoji images, each with its name as the one caption."""
    rows = read_split(split_folder(root, SHARD_SPLIT), ["jpg", "txt"])
    pick = subset(len(rows), max_images)
    return build_retrieval(SHARD_SPLIT, [rows[i]["jpg"] for i in pick], [[rows[i]["txt"] or ""] for i in pick],
                           size)
