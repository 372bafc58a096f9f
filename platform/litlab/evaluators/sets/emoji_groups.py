"""Emoji groups and subgroups as zero-shot classification sets (Debian: unicode-data, fonts-noto-color-emoji).

Images: every fully-qualified emoji of /usr/share/unicode/emoji/emoji-test.txt outside "Component", without
skin-tone variants (1870 in Unicode 15.0), drawn with Noto Color Emoji exactly as the training source draws
them (``litlab.data.sources.emoji``). Labels: the emoji's group (``emoji-groups``: 9 classes such as
"Smileys & Emotion") or subgroup (``emoji-subgroups``: 99 classes, hyphens read as spaces: "animal-mammal" ->
"animal mammal"). Classes are numbered in the file's (CLDR) order and always list every group/subgroup of
the file, even when ``max_images`` keeps only some. Emoji the font cannot draw are counted as
``not_rendered``. ``root``: another emoji-test.txt, or a folder holding one. All 1870 at 224 px: ~5 s
on a 2-core CPU.

Note: the demo train split holds most of these renders, captioned with their names (never their groups), so
this measures whether names were learnt in a way that carries over to the categories; ``emoji-heldout``
and the cross-style sets measure unseen images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from litlab.data.sources.emoji import TEST_FILE, load_font, parse_emoji_test, render_emoji, select_entries
from litlab.evaluators.sets.assemble import build_labelled
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.names import readable
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import LabelledEvalSet


def test_file(root: str | Path | None) -> Path:
    path = TEST_FILE if root is None else Path(root).expanduser()
    return path / TEST_FILE.name if path.is_dir() else path


def _load(by: str, root: str | Path | None, size: int, max_images: int) -> LabelledEvalSet:
    entries = select_entries(parse_emoji_test(test_file(root)))
    keys = [getattr(e, by) for e in entries]
    classes = list(dict.fromkeys(keys))  # file order, each once
    font = load_font()
    items, labels, not_rendered = [], [], 0
    for i in subset(len(entries), max_images):
        img = render_emoji(entries[i].text, font)
        if img is None:
            not_rendered += 1
            continue
        items.append(np.asarray(img))  # (136, 136, 3)
        labels.append(classes.index(keys[i]))
    return build_labelled(f"emoji-{by}s", items, labels, [readable(c) for c in classes], size,
                          {"not_rendered": not_rendered})


@EVAL_SETS.register("emoji-groups")
def emoji_groups(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """Noto emoji labelled by group (9 classes)."""
    return _load("group", root, size, max_images)


@EVAL_SETS.register("emoji-subgroups")
def emoji_subgroups(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """Noto emoji labelled by subgroup (99 classes)."""
    return _load("subgroup", root, size, max_images)
