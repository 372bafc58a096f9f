"""Tux Paint stamps as image-text retrieval (Debian: tuxpaint-stamps-default, /usr/share/tuxpaint/stamps).

Each stamp is ``<name>.png`` with ``<name>.txt`` beside it. The .txt holds the default (English) caption on
its first line, e.g. "A frog.", followed by translations as ``<locale>.utf8=<text>`` lines (``fr.utf8=Une
grenouille.``). We take the first line that is not a translation, stripped; when a file has none we fall
back to its ``en_US``/``en_GB``/``en_AU`` line. Package 2022.06.04: 796 PNGs -> 785 captioned stamps.

Left out: ``*_mirror.png`` (a pre-drawn mirror image of another stamp, no caption of its own), stamps that
ship only as SVG (Pillow cannot draw them; counted as ``svg_only``) and PNGs without a .txt (``no_caption``).
Some captions repeat across stamps ("A flower." x6): each stays the caption of its own image only.
Transparency is composited on white. Order: sorted path. All 785 at 224 px: ~3 s on a 2-core CPU.
"""

from __future__ import annotations

import re
from pathlib import Path

from litlab.evaluators.sets.assemble import build_retrieval
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.paths import require_deb
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import RetrievalSet

ROOT = Path("/usr/share/tuxpaint/stamps")
PACKAGE = "tuxpaint-stamps-default"
TRANSLATION = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?(@\w+)?\.utf8=")
ENGLISH = ("en_US.utf8=", "en_GB.utf8=", "en_AU.utf8=")


def stamp_caption(text: str) -> str:
    """The default (English) caption of a stamp's .txt, or "" when it has none."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    default = next((line for line in lines if not TRANSLATION.match(line)), "")
    if default:
        return default
    english = (line.partition("=")[2].strip() for prefix in ENGLISH for line in lines if line.startswith(prefix))
    return next(english, "")


def _stamps(root: Path) -> tuple[list[Path], list[str], dict[str, int]]:
    """(PNG paths, captions, skipped) over the whole stamp tree, sorted by path."""
    pngs = sorted(p for p in root.rglob("*.png") if not p.stem.endswith("_mirror"))
    svg_only = sum(1 for p in root.rglob("*.svg") if not p.with_suffix(".png").exists())
    paths, captions = [], []
    for png in pngs:
        txt = png.with_suffix(".txt")
        caption = stamp_caption(txt.read_text(encoding="utf-8", errors="replace")) if txt.is_file() else ""
        paths.append(png)
        captions.append(caption)
    return paths, captions, {"svg_only": svg_only}


@EVAL_SETS.register("tuxpaint-stamps")
def tuxpaint_stamps(root: str | Path | None, size: int, max_images: int = 0) -> RetrievalSet:
    """Stamp photos and drawings vs their English captions, one caption per image."""
    folder = require_deb(ROOT if root is None else Path(root).expanduser(), PACKAGE)
    paths, captions, skipped = _stamps(folder)
    if not paths:
        raise FileNotFoundError(f"no stamp PNGs under {folder}: is it {PACKAGE}'s stamps folder? "
                                f"(apt-get install --no-install-recommends {PACKAGE} puts them in {ROOT})")
    captioned = [i for i, c in enumerate(captions) if c]
    skipped["no_caption"] = len(paths) - len(captioned)
    pick = [captioned[i] for i in subset(len(captioned), max_images)]
    return build_retrieval("tuxpaint-stamps", [paths[i] for i in pick], [[captions[i]] for i in pick], size,
                           skipped)
