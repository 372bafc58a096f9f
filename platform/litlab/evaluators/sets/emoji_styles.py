"""Cross-style emoji retrieval: the same emoji drawn by Google, Apple and Twitter (npm emoji-datasource-*).

Installed with ``npm install --no-save --prefix ~/.cache/litlab/npm emoji-datasource-google@16.0.0
emoji-datasource-apple@16.0.0 emoji-datasource-twitter@16.0.0`` (``make npm``). Each package ships
``emoji.json`` (1911 entries: unified code points, name, category, ``has_img_<vendor>``) and 64x64 RGBA PNGs
at ``img/<vendor>/64/<image>``. Entries of the "Component" category (skin-tone and hair swatches) are left
out; skin-tone variants are not separate entries. Order: the packages' ``sort_order``.

A ``CrossStyleSet`` per vendor pair (``emoji-style-google-apple`` etc.): queries are the first vendor's
drawings, targets the second's, ``query_to_target[i]`` is the same emoji (here always ``i``: the arrays are
aligned, but evaluators must use the mapping). ``names`` are emoji.json's Unicode character names,
lower-cased ("grinning face", "white right pointing backhand index"), for reports. An emoji whose image is
missing or unreadable in either style is dropped from both (counted). ``root`` = the npm prefix (default
$LITLAB_NPM_PREFIX or ~/.cache/litlab/npm) or its node_modules folder. All 1903 pairs at 224 px: ~7 s on a 2-core CPU.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from litlab.evaluators.sets.images import decode_all, merge_skipped, subset
from litlab.evaluators.sets.paths import require_npm
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import CrossStyleSet

VERSION = "16.0.0"  # the version `make npm` installs
PAIRS = (("google", "apple"), ("google", "twitter"), ("apple", "twitter"))


def default_prefix() -> Path:
    """Where `make npm` installs: $LITLAB_NPM_PREFIX or ~/.cache/litlab/npm."""
    return Path(os.environ.get("LITLAB_NPM_PREFIX", str(Path.home() / ".cache" / "litlab" / "npm")))


def package_dir(root: Path, vendor: str) -> Path:
    """The installed emoji-datasource-<vendor> folder under an npm prefix or a node_modules folder."""
    package = f"emoji-datasource-{vendor}"
    base = root if (root / package).is_dir() else root / "node_modules"
    return require_npm(base / package / "emoji.json", package, VERSION, default_prefix()).parent


def _entries(root: Path, styles: tuple[str, str]) -> list[dict]:
    """emoji.json entries drawn in both styles, outside "Component", in sort_order."""
    data = json.loads((package_dir(root, styles[0]) / "emoji.json").read_text(encoding="utf-8"))
    keep = [e for e in data if e.get("category") != "Component" and all(e.get(f"has_img_{s}") for s in styles)]
    return sorted(keep, key=lambda e: (e.get("sort_order", 0), e["unified"]))


def load_pair(query: str, target: str, root: str | Path | None, size: int, max_images: int) -> CrossStyleSet:
    """Query vendor's images vs target vendor's images of the same emoji."""
    base = default_prefix() if root is None else Path(root).expanduser()
    folders = {s: package_dir(base, s) / "img" / s / "64" for s in (query, target)}
    entries = _entries(base, (query, target))
    pick = subset(len(entries), max_images)
    name = f"emoji-style-{query}-{target}"
    q = decode_all([folders[query] / entries[i]["image"] for i in pick], size, f"{name} ({query})")
    t = decode_all([folders[target] / entries[i]["image"] for i in pick], size, f"{name} ({target})")
    both = np.intersect1d(q.kept, t.kept)  # positions readable in both styles
    q_rows, t_rows = np.searchsorted(q.kept, both), np.searchsorted(t.kept, both)
    names = tuple(str(entries[pick[i]].get("name") or entries[pick[i]]["unified"]).lower() for i in both)
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
