"""Open Clip Art Library 0.18 (Debian: openclipart-png + openclipart-svg, /usr/share/openclipart).

Images come from ``png/``, captions from the metadata of the SVG at the same relative path under ``svg/``
(``png/animals/bat_orlando_karam_.png`` <-> ``svg/animals/bat_orlando_karam_.svg``). The PNG tree holds 8121
names but 1221 are symlinks filing a drawing under a second category; the 6900 real files are the images
(no two have the same bytes) and every one has its SVG. 16 PNGs are wider than 2048 px (up to 16000): they are
scaled to ``max_side`` and the few over ``transforms.MAX_PIXELS`` are skipped as ``too_large``.

Captions (``openclipart_text``): the tidied dc:title; a title shared by more than ``max_shared`` images names
a series, not a drawing ("Part of the Flat Icon Collection ..." x846, "gramastar" x1375 star shapes, "Lemon
SVG theme" x411), so those images (and the 58 without a title) fall back to their file name when
``file_names`` (``computer/icons/flat-theme/action/redo.png`` -> "redo"). A caption still shared by more
than ``max_shared`` images is skipped as ``shared_caption`` (the 1375 stars are all "star"), an image left
with no words as ``no_title``. With ``keywords`` > 0 a second caption lists a few of the keywords.
Package 0.18 with the defaults: 6900 images -> 4711 rows (2773 captioned by title, 1938 by file name; 4264
with a keyword caption; 4005 distinct first captions); skipped 2142 shared_caption, 32 no_title, 15
too_large. The file-name captions of the KDE icon themes are often program names ("kspread"); with
``file_names`` false: 2791 rows. Titles are mostly English, some Italian and French. A full build takes
~1 min of CPU (81 MB of shards at max_side 512).

Shard source ``openclipart`` (options: input = the folder holding png/ and svg/, limit, max_side, max_shared,
file_names, keywords): ``items()`` reads every SVG's metadata once per process (~3 s) since sharing is
counted over the whole set; ``load`` reads one PNG. Key ``openclipart/animals/bat_orlando_karam_``; meta
{path, category, title, keywords, creator, caption_from}.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from litlab.data.shards import Record
from litlab.data.sources.base import SOURCES, SkipRecord
from litlab.data.sources.imagefile import read_image
from litlab.data.sources.openclipart_meta import ClipMeta, NoMetadata, read_metadata
from litlab.data.sources.openclipart_text import captions_for, clean_title, name_from_file, pick_keywords
from litlab.data.sources.packages import missing_deb, require_deb
from litlab.data.sources.picking import evenly_spaced

ROOT = Path("/usr/share/openclipart")
PNG_PACKAGE, SVG_PACKAGE = "openclipart-png", "openclipart-svg"


@dataclass(frozen=True)
class ClipItem:
    path: str  # PNG path relative to <input>/png
    captions: tuple[str, ...]  # empty when the item is to be skipped
    skip: str = ""  # the SkipRecord reason ``load`` raises, "" for a usable item
    meta: dict = field(default_factory=dict)


def png_files(root: Path) -> list[str]:
    """Relative paths of the real PNG files under ``root/png`` (symlinked aliases left out), sorted."""
    folder = require_deb(root / "png", PNG_PACKAGE, is_dir=True)
    require_deb(root / "svg", SVG_PACKAGE, is_dir=True)
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png") if not p.is_symlink())
    if not found:
        raise missing_deb(PNG_PACKAGE, folder, "no PNG files there")
    return found


def _metadata(root: Path, path: str) -> ClipMeta | str:
    """The SVG metadata of a PNG, or the reason there is none (no_svg, bad_svg, no_metadata)."""
    try:
        return read_metadata((root / "svg" / path).with_suffix(".svg"))
    except FileNotFoundError:
        return "no_svg"
    except ET.ParseError:
        return "bad_svg"
    except NoMetadata:
        return "no_metadata"


@lru_cache(maxsize=2)
def read_all(root: Path) -> tuple[tuple[str, ClipMeta | str], ...]:
    """(PNG path, its metadata or why there is none) for every image; read once per process."""
    return tuple((path, _metadata(root, path)) for path in png_files(root))


def _first_caption(path: str, meta: ClipMeta, titles: Counter[str], opts: OpenClipArt) -> tuple[str, str]:
    """(caption, where it came from): the title unless missing or shared, else the file name if allowed."""
    title = clean_title(meta.title)
    if title and titles[title.lower()] <= opts.max_shared:
        return title, "title"
    if opts.file_names:
        return name_from_file(Path(path).stem, meta.creators), "file_name"
    return title, "title"


def plan(root: Path, opts: OpenClipArt) -> list[ClipItem]:
    """Every image with its captions, or the reason it will be skipped; sharing is counted over all."""
    entries = read_all(root)
    titles = Counter(clean_title(m.title).lower() for _, m in entries if isinstance(m, ClipMeta))
    firsts = {p: _first_caption(p, m, titles, opts) for p, m in entries if isinstance(m, ClipMeta)}
    shared = Counter(caption.lower() for caption, _ in firsts.values() if caption)
    items = []
    for path, meta in entries:
        if isinstance(meta, str):
            items.append(ClipItem(path, (), meta))
            continue
        caption, source = firsts[path]
        skip = "no_title" if not caption else "shared_caption" if shared[caption.lower()] > opts.max_shared else ""
        words = pick_keywords(meta.keywords, caption, meta.creators, opts.keywords)
        info = {"path": path, "category": path.split("/", 1)[0], "title": meta.title,
                "keywords": list(meta.keywords), "creator": ", ".join(meta.creators), "caption_from": source}
        items.append(ClipItem(path, () if skip else captions_for(caption, words), skip, info))
    return items


@SOURCES.register("openclipart")
@dataclass(frozen=True)
class OpenClipArt:
    """Clip art PNGs captioned from their SVG's title (or file name) and keywords; ``limit`` 0 = all, else
    evenly spaced over the sorted paths; ``max_side`` scales big drawings down (0 keeps them)."""

    input: str = str(ROOT)
    limit: int = 0
    max_side: int = 512
    max_shared: int = 5
    file_names: bool = True
    keywords: int = 3

    def items(self) -> Iterator[ClipItem]:
        return iter(evenly_spaced(plan(Path(self.input).expanduser(), self), self.limit))

    def load(self, item: ClipItem) -> Record:
        key = f"openclipart/{item.path.removesuffix('.png')}"
        if item.skip:
            raise SkipRecord(item.skip, key)
        jpg = read_image(Path(self.input).expanduser() / "png" / item.path, self.max_side)
        return Record(key=key, jpg=jpg, txt=item.captions[0], meta=item.meta, captions=item.captions)
