"""Cross-style emoji retrieval: the same emoji drawn by Google, Apple and Twitter (npm emoji-datasource-*).

The packages (``make npm``) are located and read by ``litlab.data.sources.emoji_styles``, which the
``emoji-styles`` shard source shares: emoji.json entries outside the "Component" category, in the packages'
``sort_order``, 64x64 RGBA PNGs at ``img/<vendor>/64/<image>``.

A ``CrossStyleSet`` per vendor pair (``emoji-style-google-apple`` etc.): queries are the first vendor's
drawings, targets the second's, ``query_to_target[i]`` is the same emoji (here always ``i``: the arrays are
aligned, but evaluators must use the mapping). ``names`` are emoji.json's Unicode character names,
lower-cased ("grinning face", "white right pointing backhand index"), for reports. An emoji whose image is
missing or unreadable in either style is dropped from both (counted). ``root`` = the npm prefix (default
$LITLAB_NPM_PREFIX or ~/.cache/litlab/npm) or its node_modules folder. All 1903 pairs at 224 px: ~7 s on a 2-core CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from litlab.data.sources.emoji_styles import default_prefix, emoji_name, image_dir, read_entries
from litlab.evaluators.sets.images import decode_all, merge_skipped, subset
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import CrossStyleSet

PAIRS = (("google", "apple"), ("google", "twitter"), ("apple", "twitter"))


def _entries(root: Path, styles: tuple[str, str]) -> list[dict]:
    """emoji.json entries drawn in both styles, outside "Component", in sort_order."""
    return [e for e in read_entries(root, styles[0]) if all(e.get(f"has_img_{s}") for s in styles)]


def load_pair(query: str, target: str, root: str | Path | None, size: int, max_images: int) -> CrossStyleSet:
    """Query vendor's images vs target vendor's images of the same emoji."""
    base = default_prefix() if root is None else Path(root).expanduser()
    folders = {s: image_dir(base, s) for s in (query, target)}
    entries = _entries(base, (query, target))
    pick = subset(len(entries), max_images)
    name = f"emoji-style-{query}-{target}"
    q = decode_all([folders[query] / entries[i]["image"] for i in pick], size, f"{name} ({query})")
    t = decode_all([folders[target] / entries[i]["image"] for i in pick], size, f"{name} ({target})")
    both = np.intersect1d(q.kept, t.kept)  # positions readable in both styles
    q_rows, t_rows = np.searchsorted(q.kept, both), np.searchsorted(t.kept, both)
    names = tuple(emoji_name(entries[pick[i]]) for i in both)
    dropped = {"unpaired": len(q.kept) + len(t.kept) - 2 * len(both)}
    return CrossStyleSet(q.images[q_rows], t.images[t_rows], np.arange(len(both), dtype=np.int64), names,
                         query, target, name=name, skipped=merge_skipped(q.skipped, t.skipped, dropped))


def _register(query: str, target: str) -> None:
    @EVAL_SETS.register(f"emoji-style-{query}-{target}")
    def loader(root: str | Path | None, size: int, max_images: int = 0) -> CrossStyleSet:
        return load_pair(query, target, root, size, max_images)

    loader.__doc__ = f"{query.title()} emoji (queries) vs {target.title()} emoji (targets)."


for _query, _target in PAIRS:
    _register(_query, _target)
