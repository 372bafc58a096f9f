"""Loaders of the real data that ships here: Fashion-MNIST, Noto emoji, Tux Paint stamps, emoji-datasource."""

from __future__ import annotations

import json

import numpy as np
import pytest
from litlab.data.shards import iter_rows
from litlab.data.sources.fashion_mnist import CLASSES
from litlab.evaluators.sets import load_eval_set
from litlab.evaluators.sets.tuxpaint import ROOT as STAMPS
from litlab.evaluators.sets.tuxpaint import stamp_caption


def test_fmnist_idx_train_subset_is_class_balanced_grayscale():
    s = load_eval_set("fmnist-idx-train", None, size=16, max_images=30)
    assert s.classnames == CLASSES and np.bincount(s.labels, minlength=10).tolist() == [3] * 10
    assert np.array_equal(s.images[..., 0], s.images[..., 2])  # grey in, grey out


def test_fmnist_test_shards_keep_every_row_and_its_label(tiny_shards):
    s = load_eval_set("fmnist-test", tiny_shards / "fmnist-test", size=8)
    labels = [json.loads(r["json"])["label"] for r in iter_rows(tiny_shards / "fmnist-test", ["json"])]
    assert s.labels.tolist() == labels and len(labels) == 200 and s.classnames == CLASSES


def test_emoji_groups_and_subgroups_are_readable_and_complete():
    groups = load_eval_set("emoji-groups", None, size=16, max_images=40)
    assert len(groups.classnames) == 9 and groups.classnames[0] == "Smileys & Emotion"
    assert len(set(groups.labels.tolist())) >= 8  # spread over the file, not its first 40 smileys
    subgroups = load_eval_set("emoji-subgroups", None, size=16, max_images=5)
    assert len(subgroups.classnames) == 99 and "animal mammal" in subgroups.classnames
    assert not any("-" in c for c in subgroups.classnames) and subgroups.skipped == {}


def test_emoji_heldout_pairs_each_image_with_its_name(tiny_shards):
    s = load_eval_set("emoji-heldout", tiny_shards, size=16)
    names = [r["txt"] for r in iter_rows(tiny_shards / "emoji-heldout", ["txt"])]
    assert s.captions == tuple(names) and s.caption_to_image.tolist() == list(range(len(names)))


def test_tuxpaint_caption_is_the_default_english_line():
    assert stamp_caption((STAMPS / "animals/amphibians/frog.txt").read_text()) == "A frog."
    assert stamp_caption("fr.utf8=Une chose.\nen_GB.utf8=A thing.\n") == "A thing."
    assert stamp_caption("A calculator.  6x7=42\nde.utf8=Ein Taschenrechner.") == "A calculator.  6x7=42"
    assert stamp_caption("de.utf8=Nur Deutsch.\n") == ""


def test_tuxpaint_stamps_english_captions_on_white():
    s = load_eval_set("tuxpaint-stamps", None, size=32, max_images=12)
    assert len(s.captions) == 12 and not any(".utf8=" in c for c in s.captions)
    assert s.skipped["svg_only"] > 0 and s.skipped.get("no_caption", 0) == 0
    corners = s.images[:, [0, 0, -1, -1], [0, -1, 0, -1]]  # (N, 4, 3): transparency composited on white
    assert (corners > 240).mean() > 0.7


def test_cross_style_pairs_share_emoji_but_not_drawings():
    ga = load_eval_set("emoji-style-google-apple", None, size=32, max_images=6)
    gt = load_eval_set("emoji-style-google-twitter", None, size=32, max_images=6)
    assert ga.names[0] == gt.names[0] == "grinning face" and ga.skipped == {} and len(ga.names) == 6
    assert np.array_equal(ga.query_images[0], gt.query_images[0])  # the same Google drawing
    assert not np.array_equal(ga.target_images[0], gt.target_images[0])  # Apple vs Twitter art
    assert not np.array_equal(ga.query_images[0], ga.target_images[0])
    assert ga.query_to_target.tolist() == list(range(6)) and (ga.query_style, ga.target_style) == ("google", "apple")


@pytest.mark.parametrize(("name", "install"), [
    ("tuxpaint-stamps", "apt-get install --no-install-recommends tuxpaint-stamps-default"),
    ("emoji-style-apple-twitter", "npm install --no-save --prefix .* emoji-datasource-apple@16.0.0"),
])
def test_missing_package_error_names_the_install_command(name, install, tmp_path):
    with pytest.raises(FileNotFoundError, match=f"not installed: {install}"):
        load_eval_set(name, tmp_path / "absent", size=8)
