"""emoji-vendors-heldout on the real packages: the build's held-out emoji, drawn by Apple and Twitter, CLDR names."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from litlab.data.heldout import heldout_entries, is_heldout
from litlab.data.shards import iter_rows
from litlab.data.sources.emoji import parse_emoji_test, select_entries
from litlab.data.sources.emoji_styles import default_prefix, emoji_name, image_dir, read_entries
from litlab.data.transforms import load_image
from litlab.evaluators.sets import load_eval_set, set_texts
from litlab.evaluators.sets.emoji_vendors import VENDORS, join_heldout, unjoined


@pytest.fixture(scope="module")
def full():
    return load_eval_set("emoji-vendors-heldout", None, size=16)


def test_classes_are_the_held_out_emoji_with_their_cldr_names(full):
    held = heldout_entries(select_entries(parse_emoji_test()))
    assert full.classnames == tuple(e.name for e in held) and 150 < len(held) < 200
    assert all(is_heldout(e.key) for e in held)
    twitter = {e["unified"]: emoji_name(e) for e in read_entries(default_prefix(), "twitter")}
    differ = [e.name for e in held if twitter["-".join(e.codepoints)] != e.name]
    assert differ  # emoji.json's Unicode names ("flag-jp" style) are not what the classes are called


def test_the_same_emoji_the_build_holds_out_and_never_tunes_on(tiny_shards):
    keys = {e.key for e in join_heldout().classes}
    heldout = {r["key"] for r in iter_rows(tiny_shards / "emoji-heldout", ["key"])}
    train = {r["key"] for r in iter_rows(tiny_shards / "train", ["key"])}
    assert heldout and heldout <= keys and not keys & train


def test_two_images_a_class_apple_then_twitter(full):
    n = len(full.classnames)
    assert full.skipped == {} and len(full.images) == 2 * n
    assert full.labels.tolist() == [c for c in range(n) for _ in VENDORS]
    joined = join_heldout()
    for row in (0, 1, 2 * n - 1):
        vendor, label = VENDORS[row % 2], row // 2
        expected = load_image((image_dir(default_prefix(), vendor) / joined.files[vendor][label]).read_bytes(), 16)
        assert np.array_equal(full.images[row], expected)


def test_max_images_keeps_every_class_a_candidate():
    s = load_eval_set("emoji-vendors-heldout", None, size=8, max_images=4)
    assert len(s.images) == 4 and len(s.classnames) > 150 and len(set(s.labels.tolist())) == 4


def test_what_fails_to_join_is_counted_and_named(tmp_path):
    """A copy of the packages where Apple lacks one held-out emoji and Twitter does not draw another."""
    held = join_heldout().classes
    drop, undrawn = "-".join(held[0].codepoints), "-".join(held[1].codepoints)
    for vendor, edit in (("apple", lambda es: [e for e in es if e["unified"] != drop]),
                         ("twitter", lambda es: [e | ({"has_img_twitter": False} if e["unified"] == undrawn else {})
                                                 for e in es])):
        src = image_dir(default_prefix(), vendor).parents[2]
        dst = tmp_path / "node_modules" / src.name
        (dst / "img" / vendor).mkdir(parents=True)
        (dst / "img" / vendor / "64").symlink_to(src / "img" / vendor / "64")
        shutil.copy(src / "package.json", dst / "package.json")
        entries = json.loads((src / "emoji.json").read_text(encoding="utf-8"))
        (dst / "emoji.json").write_text(json.dumps(edit(entries)), encoding="utf-8")
    joined = join_heldout(tmp_path)
    assert joined.skipped == {"not_in_datasource": 1, "not_drawn": 1}
    assert unjoined(joined) == [held[0].name, held[1].name]
    s = load_eval_set("emoji-vendors-heldout", tmp_path, size=8)
    assert s.skipped == joined.skipped and len(s.images) == 2 * len(held) - 2 and len(s.classnames) == len(held)
    assert s.labels.tolist()[:2] == [0, 1]  # class 0 has Twitter's only, class 1 Apple's only


def test_its_texts_are_its_class_names_without_reading_an_image(full):
    texts = set_texts("emoji-vendors-heldout")
    assert texts.kind == "class names" and texts.texts == full.classnames
