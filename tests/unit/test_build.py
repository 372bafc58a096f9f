"""The demo build on real packages: its splits, the held-out emoji, recipes (another recipe's split is rebuilt)."""

from __future__ import annotations

import json

import pytest
from litlab.data.build import build_demo_shards
from litlab.data.heldout import HELDOUT_FRACTION, heldout_entries, is_heldout
from litlab.data.recipes import RECIPE_VERSION, demo_recipes, describe, differences
from litlab.data.shards import Record, encode_jpeg, iter_rows, read_stats, write_shards
from litlab.data.sources.emoji import parse_emoji_test, select_entries
from litlab.data.sources.fashion_mnist import CLASSES
from PIL import Image

TINY = {"fmnist_train": 60, "fmnist_test": 30, "emoji_limit": 40, "openclipart_limit": 30, "rows_per_shard": 25}


def keys(folder) -> list[str]:
    return [r["key"] for r in iter_rows(folder, columns=["key"])]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    messages: list[str] = []
    return root, build_demo_shards(root, progress=messages.append, **TINY), messages


def test_the_four_splits_and_what_they_hold(built):
    root, stats, messages = built
    assert list(stats) == ["train", "train-fmnist", "emoji-heldout", "fmnist-test"]
    heldout = set(keys(root / "emoji-heldout"))
    assert heldout and all(is_heldout(k) for k in heldout)
    train, indist = keys(root / "train"), keys(root / "train-fmnist")
    assert {k.split("/")[0] for k in train} == {"emoji", "openclipart"}
    assert {k.split("/")[0] for k in indist} == {"emoji", "fmnist"}
    emoji = {k for k in train if k.startswith("emoji/")}
    assert emoji == {k for k in indist if k.startswith("emoji/")} and len(emoji) + len(heldout) == 40
    assert not heldout & (set(train) | set(indist))
    for i in range(0, len(train), 25):  # interleaved: every shard mixes both sources
        assert {k.split("/")[0] for k in train[i:i + 25]} == {"emoji", "openclipart"}
    assert stats["train-fmnist"].rows == len(emoji) + 60
    oc = stats["train"].rows - len(emoji)
    assert 0 < oc <= 30 and oc + sum(stats["train"].skipped.values()) == 30  # every drawing kept or counted
    test_rows = [json.loads(r["json"]) for r in iter_rows(root / "fmnist-test", columns=["json"])]
    assert len(test_rows) == 30 and {m["class"] for m in test_rows} == set(CLASSES)
    assert sum("building from" in m for m in messages) == 4


def test_captions_of_clip_art_keep_their_keyword_variants(built):
    root, _, _ = built
    rows = [r for r in iter_rows(root / "train", columns=["key", "txt", "txts"]) if r["key"].startswith("openclipart/")]
    assert rows and all(r["txts"][0] == r["txt"] for r in rows)
    assert any(len(r["txts"]) == 2 and r["txts"][1].startswith(r["txt"] + ", ") for r in rows)


def test_each_split_records_its_recipe_and_a_rerun_keeps_it(built):
    root, stats, _ = built
    recipes = demo_recipes(**{k: v for k, v in TINY.items() if k != "rows_per_shard"})
    for split, recipe in recipes.items():
        assert read_stats(root / split).recipe == recipe.as_json() == stats[split].recipe
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    messages: list[str] = []
    assert build_demo_shards(root, progress=messages.append, **TINY) == stats
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    assert len(messages) == 4 and all("kept" in m and "same recipe" in m for m in messages)


def test_a_split_built_by_another_recipe_is_rebuilt_saying_what_changed(tmp_path):
    build_demo_shards(tmp_path, fmnist_test=20, splits=["fmnist-test"], progress=lambda m: None)
    messages: list[str] = []
    stats = build_demo_shards(tmp_path, fmnist_test=30, splits=["fmnist-test"], progress=messages.append)
    assert stats["fmnist-test"].rows == 30 == len(keys(tmp_path / "fmnist-test"))
    assert "rebuilding" in messages[0] and "fashion-mnist.limit: 20 -> 30" in messages[0]
    assert read_stats(tmp_path / "fmnist-test").recipe["parts"][0]["options"]["limit"] == 30


def test_an_old_split_without_a_recipe_is_rebuilt_not_kept(tmp_path):
    """What a user's train/ from before recipes looks like: finished shards, _stats.json without a recipe."""
    jpg = encode_jpeg(Image.new("RGB", (8, 8), "white"))
    write_shards([Record(f"fmnist/train/{i:05d}", jpg, "a photo of a bag", {}) for i in range(5)], tmp_path / "train")
    assert read_stats(tmp_path / "train").recipe == {}
    messages: list[str] = []
    stats = build_demo_shards(tmp_path, emoji_limit=20, openclipart_limit=10, splits=["train"],
                              progress=messages.append)
    assert "rebuilding" in messages[0] and "no recipe recorded" in messages[0]
    assert not any(k.startswith("fmnist/") for k in keys(tmp_path / "train"))
    assert stats["train"].recipe["version"] == RECIPE_VERSION


def test_unknown_split_is_an_error_listing_the_splits(tmp_path):
    with pytest.raises(ValueError, match="unknown split.*nope.*train, train-fmnist, emoji-heldout, fmnist-test"):
        build_demo_shards(tmp_path, splits=["nope"])


def test_recipes_name_sources_options_and_the_heldout_choice():
    recipe = demo_recipes()["train"].as_json()
    assert recipe["version"] == RECIPE_VERSION
    emoji, clipart = recipe["parts"]
    assert (emoji["source"], emoji["heldout"], emoji["heldout_fraction"]) == ("noto-emoji", "exclude", HELDOUT_FRACTION)
    assert clipart["source"] == "openclipart" and clipart["options"]["max_side"] == 256
    assert clipart["options"]["keywords"] == 3 and "heldout" not in clipart  # every option, defaults included
    assert describe(recipe) == f"v{RECIPE_VERSION}: noto-emoji (exclude held-out) + openclipart"
    assert describe({}) == "no recipe recorded"


def test_differences_name_each_changed_option_or_the_sources():
    a = {"version": 2, "parts": [{"source": "x", "options": {"limit": 1, "size": 2}}]}
    b = {"version": 2, "parts": [{"source": "x", "options": {"limit": 3, "size": 2}, "heldout": "only"}]}
    c = {"version": 3, "parts": [{"source": "y", "options": {}}]}
    assert differences(a, a) == []
    assert differences(a, b) == ["x.limit: 1 -> 3", "x.heldout: None -> 'only'"]
    assert differences(a, c) == ["version: 2 -> 3", "sources: v2: x -> v3: y"]


def test_heldout_is_a_tenth_of_the_emoji_chosen_by_key_alone():
    entries = select_entries(parse_emoji_test())
    held = heldout_entries(entries)
    assert 0.07 < len(held) / len(entries) < 0.13
    assert heldout_entries(select_entries(parse_emoji_test(), limit=300)) == [e for e in held if e in
                                                                             select_entries(entries, limit=300)]
    with pytest.raises(ValueError, match="held-out fraction must be in"):
        is_heldout("emoji/1F600", 1.5)
