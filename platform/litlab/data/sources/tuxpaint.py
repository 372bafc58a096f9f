"""Tux Paint stamps (Debian: tuxpaint-stamps-default, /usr/share/tuxpaint/stamps): photo cut-outs and drawings.

Each stamp is ``<name>.png`` with ``<name>.txt`` beside it. The .txt holds the default (English) caption on
its first line, e.g. "A frog.", followed by translations as ``<locale>.utf8=<text>`` lines (``fr.utf8=Une
grenouille.``). We take the first line that is not a translation, stripped; when a file has none we fall
back to its ``en_US``/``en_GB``/``en_AU`` line. Package 2022.06.04: 796 PNGs -> 785 captioned stamps.

Left out: ``*_mirror.png`` (a pre-drawn mirror image of another stamp, no caption of its own), stamps that
ship only as SVG (Pillow cannot draw them; counted as ``svg_only``) and PNGs without a caption
(``no_caption``). Some captions repeat across stamps ("A flower." x6): each stays the caption of its own image.

Shard source ``tuxpaint-stamps`` (options: input = the stamps folder, limit, max_side): items are stamp paths
relative to input in sorted order (SVG-only stamps included, so they are counted); key
``tuxpaint/animals/amphibians/frog``, meta {category (the top folder), path}. Transparency goes on white.
The evaluation set ``tuxpaint-stamps`` reads the same stamps through ``walk_stamps`` and ``read_caption``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from litlab.data.shards import Record
from litlab.data.sources.base import SOURCES, SkipRecord
from litlab.data.sources.imagefile import read_image
from litlab.data.sources.packages import missing_deb, require_deb
from litlab.data.sources.picking import evenly_spaced

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


def read_caption(image: Path) -> str:
    """The caption in the .txt beside a stamp image, or "" when there is no .txt or no English line."""
    txt = image.with_suffix(".txt")
    return stamp_caption(txt.read_text(encoding="utf-8", errors="replace")) if txt.is_file() else ""


def walk_stamps(root: Path) -> tuple[list[Path], list[Path]]:
    """(stamp PNGs without the ``_mirror`` ones, SVG stamps that have no PNG), each sorted by path.

    Raises FileNotFoundError naming the package when ``root`` is missing or holds no stamps.
    """
    require_deb(root, PACKAGE, is_dir=True)
    pngs = sorted(p for p in root.rglob("*.png") if not p.stem.endswith("_mirror"))
    svg_only = sorted(p for p in root.rglob("*.svg") if not p.with_suffix(".png").exists())
    if not pngs:
        raise missing_deb(PACKAGE, root, f"no stamp PNGs there; the package puts them in {ROOT}")
    return pngs, svg_only


@SOURCES.register("tuxpaint-stamps")
@dataclass(frozen=True)
class TuxPaintStamps:
    """Stamp images with their English captions; ``limit`` 0 = all, else evenly spaced over the sorted paths;
    images wider or taller than ``max_side`` are scaled down (0 keeps them as they are)."""

    input: str = str(ROOT)
    limit: int = 0
    max_side: int = 512

    def items(self) -> Iterator[str]:
        root = Path(self.input).expanduser()
        pngs, svg_only = walk_stamps(root)
        return iter(evenly_spaced(sorted(p.relative_to(root).as_posix() for p in pngs + svg_only), self.limit))

    def load(self, item: str) -> Record:
        path = Path(self.input).expanduser() / item
        if path.suffix == ".svg":
            raise SkipRecord("svg_only", item)
        caption = read_caption(path)
        if not caption:
            raise SkipRecord("no_caption", item)
        meta = {"category": item.split("/", 1)[0], "path": item}
        return Record(key=f"tuxpaint/{item.removesuffix('.png')}", jpg=read_image(path, self.max_side),
                      txt=caption, meta=meta)
