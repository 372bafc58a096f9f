"""Noto Color Emoji rendered with Pillow, captioned with their CLDR names (Debian: fonts-noto-color-emoji,
unicode-data).

Each fully-qualified row of emoji-test.txt (outside the "Component" group) becomes a 136x136 RGB image of the
emoji centred on white. Skin-tone variants are left out by default: they are ~1.8k near-duplicates of ~300
base emoji whose captions differ only in a ": medium skin tone" suffix.

Shard source ``noto-emoji`` (options: input = the font, test_file, limit, skin_tones): items are the
EmojiEntry rows, ``load`` renders one (the font is opened once per process); emoji the font cannot draw are
skipped as ``not_rendered``. Key ``emoji/1F600``, caption the CLDR name, meta group/subgroup/codepoints/name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from litlab.data.shards import Record, encode_jpeg
from litlab.data.sources.base import SOURCES, SkipRecord, iter_records
from litlab.data.sources.packages import require_deb

FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
TEST_FILE = Path("/usr/share/unicode/emoji/emoji-test.txt")
FONT_SIZE = 109  # the one size of the font's colour bitmaps
CANVAS = 136
SKIN_TONES = frozenset({"1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF"})
ROW = re.compile(r"^(?P<cps>[0-9A-F ]+?)\s*;\s*fully-qualified\s*#\s*\S+\s+E\d+\.\d+\s+(?P<name>.+?)\s*$")


@dataclass(frozen=True)
class EmojiEntry:
    codepoints: tuple[str, ...]  # hex, e.g. ("1F468", "200D", "1F469")
    name: str  # CLDR short name, e.g. "grinning face"
    group: str
    subgroup: str

    @property
    def text(self) -> str:
        return "".join(chr(int(cp, 16)) for cp in self.codepoints)

    @property
    def key(self) -> str:
        return "emoji/" + "-".join(self.codepoints)

    @property
    def has_skin_tone(self) -> bool:
        return not SKIN_TONES.isdisjoint(self.codepoints)


def parse_emoji_test(path: str | Path = TEST_FILE) -> list[EmojiEntry]:
    """Fully-qualified emoji in file (CLDR) order, with group and subgroup; no "Component" group."""
    entries: list[EmojiEntry] = []
    group = subgroup = ""
    for line in require_deb(Path(path), "unicode-data").read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.partition(":")[2].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.partition(":")[2].strip()
        elif group != "Component" and (m := ROW.match(line)):
            entries.append(EmojiEntry(tuple(m["cps"].split()), m["name"], group, subgroup))
    if not entries:
        raise ValueError(f"{path}: no fully-qualified emoji rows; is it Unicode's emoji-test.txt?")
    return entries


def select_entries(entries: list[EmojiEntry], *, limit: int | None = None,
                   skin_tones: bool = False) -> list[EmojiEntry]:
    """Drop skin-tone variants unless asked; ``limit`` keeps that many, evenly spaced over all groups."""
    kept = [e for e in entries if skin_tones or not e.has_skin_tone]
    if limit is not None and limit < len(kept):
        kept = [kept[i * len(kept) // limit] for i in range(max(limit, 0))]
    return kept


def load_font(font: str | Path = FONT) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(require_deb(Path(font), "fonts-noto-color-emoji")), FONT_SIZE)


@lru_cache(maxsize=4)
def _cached_font(font: str) -> ImageFont.FreeTypeFont:
    """The font opened once per process (and per path)."""
    return load_font(font)


def render_emoji(text: str, font: ImageFont.FreeTypeFont, canvas: int = CANVAS) -> Image.Image | None:
    """The emoji centred on a white RGB canvas, or None when the font draws nothing or several glyphs."""
    left, top, right, bottom = font.getbbox(text)
    if right - left > canvas or bottom - top > canvas:  # an unknown sequence falls apart into glyphs
        return None
    img = Image.new("RGB", (canvas, canvas), "white")
    origin = ((canvas - (right - left)) / 2 - left, (canvas - (bottom - top)) / 2 - top)
    ImageDraw.Draw(img).text(origin, text, font=font, embedded_color=True)
    if np.asarray(img).min() >= 250:  # blank: no glyph for it
        return None
    return img


@SOURCES.register("noto-emoji")
@dataclass(frozen=True)
class NotoEmoji:
    """Noto Color Emoji renders captioned with CLDR names; ``limit`` 0 = all, else evenly spaced."""

    input: str = str(FONT)
    test_file: str = str(TEST_FILE)
    limit: int = 0
    skin_tones: bool = False

    def items(self) -> Iterator[EmojiEntry]:
        _cached_font(self.input)  # a missing font fails here, before any work is handed out
        entries = parse_emoji_test(self.test_file)
        return iter(select_entries(entries, limit=self.limit or None, skin_tones=self.skin_tones))

    def load(self, item: EmojiEntry) -> Record:
        img = render_emoji(item.text, _cached_font(self.input))
        if img is None:
            raise SkipRecord("not_rendered", item.key)
        meta = {"group": item.group, "subgroup": item.subgroup, "codepoints": "-".join(item.codepoints),
                "name": item.name}
        return Record(key=item.key, jpg=encode_jpeg(img), txt=item.name, meta=meta)


def emoji_records(entries: list[EmojiEntry], *, font: str | Path = FONT,
                  skipped: MutableMapping[str, int] | None = None) -> Iterator[Record]:
    """Render ``entries``; ``skipped`` (if given) counts the ones the font cannot draw as "not_rendered"."""
    _cached_font(str(font))  # the font is checked now, not at the first next()
    return iter_records(NotoEmoji(input=str(font)), entries, skipped if skipped is not None else {})


def iter_emoji(*, font: str | Path = FONT, test_file: str | Path = TEST_FILE, limit: int | None = None,
               skin_tones: bool = False, skipped: MutableMapping[str, int] | None = None) -> Iterator[Record]:
    """One record per emoji the font can draw (key ``emoji/1F600``, caption = CLDR name).

    ``skipped`` (if given) counts the others as "not_rendered".
    """
    entries = select_entries(parse_emoji_test(test_file), limit=limit, skin_tones=skin_tones)
    return emoji_records(entries, font=font, skipped=skipped)
