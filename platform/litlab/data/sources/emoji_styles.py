"""The same emoji drawn by Google, Apple and Twitter (npm emoji-datasource-{google,apple,twitter}).

Installed with ``npm install --no-save --prefix ~/.cache/litlab/npm emoji-datasource-google@16.0.0
emoji-datasource-apple@16.0.0 emoji-datasource-twitter@16.0.0`` (``make npm``). Each package ships
``emoji.json`` (1911 entries: unified code points, name, category, ``has_img_<vendor>``) and 64x64 RGBA PNGs
at ``img/<vendor>/64/<image>``. Entries of the "Component" category (skin-tone and hair swatches) are left
out; skin-tone variants are not separate entries. Order: the packages' ``sort_order``.

Shard source ``emoji-styles`` (options: input = the npm prefix or its node_modules folder, default
$LITLAB_NPM_PREFIX or ~/.cache/litlab/npm; vendors, comma-separated; limit): each vendor's drawing of each
emoji, vendor after vendor, keyed ``emoji-<vendor>/<unified>`` (``emoji-google/1F600``) and captioned with
emoji.json's name lower-cased ("grinning face", "jordan flag"); meta {vendor, unified, name, category,
subcategory}. An emoji a vendor does not draw is skipped as ``not_drawn``. Transparency goes on white.
The cross-style evaluation sets (``emoji-style-google-apple`` ...) locate and list the emoji through here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from litlab.data.shards import Record
from litlab.data.sources.base import SOURCES, SkipRecord
from litlab.data.sources.imagefile import read_image
from litlab.data.sources.packages import require_npm
from litlab.data.sources.picking import evenly_spaced

VERSION = "16.0.0"  # the version `make npm` installs
VENDORS = ("google", "apple", "twitter")


def default_prefix() -> Path:
    """Where `make npm` installs: $LITLAB_NPM_PREFIX or ~/.cache/litlab/npm."""
    return Path(os.environ.get("LITLAB_NPM_PREFIX", str(Path.home() / ".cache" / "litlab" / "npm")))


def package_dir(root: Path, vendor: str) -> Path:
    """The installed emoji-datasource-<vendor> folder under an npm prefix or a node_modules folder."""
    package = f"emoji-datasource-{vendor}"
    base = root if (root / package).is_dir() else root / "node_modules"
    return require_npm(base / package / "emoji.json", package, VERSION, default_prefix()).parent


def image_dir(root: Path, vendor: str) -> Path:
    """The folder of the vendor's 64x64 PNGs."""
    return package_dir(root, vendor) / "img" / vendor / "64"


@lru_cache(maxsize=8)
def read_entries(root: Path, vendor: str) -> tuple[dict, ...]:
    """The vendor's emoji.json entries outside "Component", in sort_order (read once per process)."""
    data = json.loads((package_dir(root, vendor) / "emoji.json").read_text(encoding="utf-8"))
    keep = [e for e in data if e.get("category") != "Component"]
    return tuple(sorted(keep, key=lambda e: (e.get("sort_order", 0), e["unified"])))


def emoji_name(entry: dict) -> str:
    """emoji.json's name lower-cased ("GRINNING FACE" -> "grinning face"); the code points if it has none."""
    return str(entry.get("name") or entry["unified"]).lower()


@dataclass(frozen=True)
class StyleItem:
    vendor: str
    unified: str  # e.g. "1F600" or "1F469-200D-1F692"
    image: str  # file name under img/<vendor>/64/
    name: str
    category: str
    subcategory: str
    drawn: bool  # has_img_<vendor>


def style_items(root: Path, vendor: str) -> list[StyleItem]:
    """One item per emoji of the vendor's emoji.json (those it does not draw included, to be counted)."""
    return [StyleItem(vendor, e["unified"], e["image"], emoji_name(e), e.get("category", ""),
                      e.get("subcategory", ""), bool(e.get(f"has_img_{vendor}"))) for e in read_entries(root, vendor)]


def _default_input() -> str:
    return str(default_prefix())


@SOURCES.register("emoji-styles")
@dataclass(frozen=True)
class EmojiStyles:
    """Every vendor's emoji drawings captioned with the emoji name; ``limit`` 0 = all, else evenly spaced
    over the vendor-by-vendor order (so a small build has every vendor)."""

    input: str = field(default_factory=_default_input)
    vendors: str = ",".join(VENDORS)
    limit: int = 0

    def _vendors(self) -> list[str]:
        names = [v.strip() for v in self.vendors.split(",") if v.strip()]
        if not names:
            raise ValueError(f"option vendors={self.vendors!r}: name at least one of {', '.join(VENDORS)}")
        return names

    def items(self) -> Iterator[StyleItem]:
        root = Path(self.input).expanduser()
        every = [item for vendor in self._vendors() for item in style_items(root, vendor)]
        return iter(evenly_spaced(every, self.limit))

    def load(self, item: StyleItem) -> Record:
        key = f"emoji-{item.vendor}/{item.unified}"
        if not item.drawn:
            raise SkipRecord("not_drawn", key)
        jpg = read_image(image_dir(Path(self.input).expanduser(), item.vendor) / item.image)
        meta = {"vendor": item.vendor, "unified": item.unified, "name": item.name, "category": item.category,
                "subcategory": item.subcategory}
        return Record(key=key, jpg=jpg, txt=item.name, meta=meta)
