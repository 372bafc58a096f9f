"""Tux Paint stamps as image-text retrieval (Debian: tuxpaint-stamps-default, /usr/share/tuxpaint/stamps).

The stamps and their captions are found by ``litlab.data.sources.tuxpaint`` (the ``tuxpaint-stamps`` shard
source reads the same ones): ``<name>.png`` with its default English caption from the ``<name>.txt`` beside
it; ``*_mirror.png`` left out; SVG-only stamps counted as ``svg_only``, PNGs without a caption as
``no_caption``. Package 2022.06.04: 796 PNGs -> 785 captioned stamps. Some captions repeat across stamps
("A flower." x6): each stays the caption of its own image only. Transparency is composited on white.
Order: sorted path. All 785 at 224 px: ~3 s on a 2-core CPU.
"""

from __future__ import annotations

from pathlib import Path

from litlab.data.sources.tuxpaint import PACKAGE, ROOT, read_caption, stamp_caption, walk_stamps
from litlab.evaluators.sets.assemble import build_retrieval
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import RetrievalSet

__all__ = ["PACKAGE", "ROOT", "stamp_caption", "tuxpaint_stamps"]


@EVAL_SETS.register("tuxpaint-stamps")
def tuxpaint_stamps(root: str | Path | None, size: int, max_images: int = 0) -> RetrievalSet:
    """Stamp photos and drawings vs their English captions, one caption per image."""
    pngs, svg_only = walk_stamps(ROOT if root is None else Path(root).expanduser())
    captions = [read_caption(png) for png in pngs]
    captioned = [i for i, c in enumerate(captions) if c]
    skipped = {"svg_only": len(svg_only), "no_caption": len(pngs) - len(captioned)}
    pick = [captioned[i] for i in subset(len(captioned), max_images)]
    return build_retrieval("tuxpaint-stamps", [pngs[i] for i in pick], [[captions[i]] for i in pick], size,
                           skipped)
