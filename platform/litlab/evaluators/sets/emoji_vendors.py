"""Zero-shot transfer to an unseen art style: the held-out emoji drawn by Apple and Twitter (npm emoji-datasource).

Classes: the emoji that ``litlab.data.heldout`` holds out of every tuning split (the same function and fraction
the demo build uses: ~171 of the 1870 emoji without skin tones in Debian's emoji-test.txt), in the file's (CLDR)
order, named by their CLDR names from emoji-test.txt ("grinning face", "flag: Japan"): the names the tuning
captions use for the other emoji, not emoji.json's Unicode character names. Images: each class drawn by Apple
and by Twitter (64x64 PNGs of emoji-datasource-{apple,twitter} 16.0.0, transparency on white), so 2 per class,
class by class; chance is 1 / number of classes. Google is left out: emoji-datasource-google is Noto's own art,
the style the tuning corpus is drawn in.

Emoji and vendor entries are joined on code points (emoji.json's ``unified``, else its ``non_qualified``); a
held-out emoji that joins no entry is counted as ``not_in_datasource`` and one a vendor does not draw as
``not_drawn`` (both 0 with the pinned versions), and such classes stay candidates. It needs only the Debian and
npm packages, not the demo shards: the held-out choice is a function of the emoji's key, so the set is the same
whatever ``data.root`` holds. ``root`` = the npm prefix (default $LITLAB_NPM_PREFIX or ~/.cache/litlab/npm) or
its node_modules folder. ``max_images`` keeps that many images evenly spaced; every class stays a candidate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from litlab.data.heldout import heldout_entries
from litlab.data.sources.emoji import EmojiEntry, parse_emoji_test, select_entries
from litlab.data.sources.emoji_styles import default_prefix, image_dir, read_entries
from litlab.evaluators.sets.assemble import build_labelled
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import LabelledEvalSet

log = logging.getLogger(__name__)
NAME = "emoji-vendors-heldout"
VENDORS = ("apple", "twitter")  # styles the tuning corpus never shows (Google's is Noto's)


@dataclass(frozen=True)
class Joined:
    """The held-out emoji as classes, and each vendor's image file of each class (None where not drawn)."""

    classes: tuple[EmojiEntry, ...]
    files: dict[str, tuple[str | None, ...]]  # vendor -> one file name (or None) per class
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def classnames(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.classes)


def _by_codepoints(root: Path, vendor: str) -> dict[str, dict]:
    """The vendor's emoji.json entries by ``unified`` and, where different, by ``non_qualified``."""
    out: dict[str, dict] = {}
    for entry in read_entries(root, vendor):
        out[entry["unified"].upper()] = entry
        if entry.get("non_qualified"):
            out.setdefault(str(entry["non_qualified"]).upper(), entry)
    return out


def join_heldout(root: str | Path | None = None, vendors: tuple[str, ...] = VENDORS) -> Joined:
    """Held-out emoji of emoji-test.txt joined with each vendor's drawings, counting what fails to join."""
    base = default_prefix() if root is None else Path(root).expanduser()
    classes = tuple(heldout_entries(select_entries(parse_emoji_test())))
    files: dict[str, tuple[str | None, ...]] = {}
    skipped = {"not_in_datasource": 0, "not_drawn": 0}
    for vendor in vendors:
        index = _by_codepoints(base, vendor)
        found: list[str | None] = []
        for emoji in classes:
            entry = index.get("-".join(emoji.codepoints).upper())
            if entry is None:
                skipped["not_in_datasource"] += 1
            elif not entry.get(f"has_img_{vendor}"):
                skipped["not_drawn"] += 1
            found.append(entry["image"] if entry is not None and entry.get(f"has_img_{vendor}") else None)
        files[vendor] = tuple(found)
    return Joined(classes, files, {k: v for k, v in skipped.items() if v})


def unjoined(joined: Joined) -> list[str]:
    """Names of the classes some vendor lacks (for reports: what failed to join or is not drawn)."""
    return [c.name for i, c in enumerate(joined.classes) if any(f[i] is None for f in joined.files.values())]


@EVAL_SETS.register(NAME)
def emoji_vendors_heldout(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """Held-out emoji, 2 images per class (Apple, Twitter), labelled by their CLDR names."""
    base = default_prefix() if root is None else Path(root).expanduser()
    joined = join_heldout(base)
    if missing := unjoined(joined):
        log.warning("%s: %d held-out emoji lack a drawing (%s): %s", NAME, len(missing), joined.skipped,
                    ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""))
    folders = {v: image_dir(base, v) for v in joined.files}
    items, labels = [], []
    for label in range(len(joined.classes)):
        for vendor, names in joined.files.items():
            if names[label] is not None:
                items.append(folders[vendor] / names[label])
                labels.append(label)
    pick = subset(len(items), max_images)
    return build_labelled(NAME, [items[i] for i in pick], [labels[i] for i in pick], joined.classnames, size,
                          joined.skipped)
