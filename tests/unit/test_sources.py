"""Real sources from Debian packages (emoji, Fashion-MNIST); the demo build itself is tested in test_build.py."""

import gzip
import io
from collections import Counter

import numpy as np
import pytest
from litlab.data.build import interleave
from litlab.data.shards import Record
from litlab.data.sources.emoji import (
    EmojiEntry,
    emoji_records,
    iter_emoji,
    load_font,
    parse_emoji_test,
    render_emoji,
    select_entries,
)
from litlab.data.sources.fashion_mnist import CLASSES, caption, iter_fashion_mnist, load_split
from PIL import Image

GROUPS = {"Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
          "Activities", "Objects", "Symbols", "Flags"}


@pytest.fixture(scope="module")
def entries():
    return parse_emoji_test()


def test_emoji_parser_finds_groups_subgroups_and_names(entries):
    assert {e.group for e in entries} == GROUPS  # "Component" left out
    assert len({(e.group, e.subgroup) for e in entries}) > 90
    first = entries[0]
    assert (first.key, first.name, first.group, first.subgroup) == \
        ("emoji/1F600", "grinning face", "Smileys & Emotion", "face-smiling")
    assert {"flag: South Africa", "family: man, woman, girl"} <= {e.name for e in entries}
    assert len(entries) > 3500 and 1800 < len(select_entries(entries)) < 2000  # skin tones dropped


def test_emoji_limit_spreads_over_all_groups(entries):
    picked = select_entries(entries, limit=40)
    assert len(picked) == 40 and {e.group for e in picked} == GROUPS
    assert not any(e.has_skin_tone for e in picked)


def test_grinning_face_renders_with_colour_in_the_middle():
    img = render_emoji("\U0001F600", load_font())
    assert img.size == (136, 136) and img.mode == "RGB"
    middle = np.asarray(img)[34:102, 34:102].astype(int)
    assert (middle.min(-1) < 240).mean() > 0.9  # mostly non-white
    assert (middle[..., 0] - middle[..., 2]).mean() > 50  # yellow face: red well above blue


def test_glyphs_the_font_lacks_are_skipped_and_counted():
    font = load_font()
    assert render_emoji("\ue000", font) is None  # private use: nothing drawn
    assert render_emoji("\U0001F468\u200d\U0001F600", font) is None  # no ligature: two glyphs side by side
    entries = [EmojiEntry(("E000",), "private", "g", "s"), EmojiEntry(("1F600",), "grinning face", "g", "s")]
    skipped: dict[str, int] = {}
    assert [r.key for r in emoji_records(entries, skipped=skipped)] == ["emoji/1F600"]
    assert skipped == {"not_rendered": 1}


def test_iter_emoji_yields_records_with_meta():
    recs = list(iter_emoji(limit=5))
    assert len(recs) == 5 and recs[0].key == "emoji/1F600" and recs[0].txt == "grinning face"
    assert set(recs[0].meta) == {"group", "subgroup", "codepoints", "name"}
    assert Image.open(io.BytesIO(recs[0].jpg)).format == "JPEG"


def test_missing_files_name_the_debian_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="fonts-noto-color-emoji"):
        iter_emoji(font=tmp_path / "none.ttf")
    with pytest.raises(FileNotFoundError, match="unicode-data"):
        parse_emoji_test(tmp_path / "emoji-test.txt")
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_split("test", root=tmp_path)


def test_fashion_mnist_shapes_and_labels():
    for split, n in (("train", 60000), ("test", 10000)):
        images, labels = load_split(split)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert set(np.unique(labels)) == set(range(10)) and np.bincount(labels).min() == n // 10


def test_fashion_mnist_rejects_a_wrong_magic_number(tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        with gzip.open(tmp_path / name, "wb") as f:
            f.write((2049).to_bytes(4, "big") + bytes(12))  # a labels header where images belong
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        load_split("test", root=tmp_path)


def test_fashion_mnist_limit_is_class_balanced_and_deterministic():
    recs = list(iter_fashion_mnist("test", limit=25))
    counts = Counter(r.meta["label"] for r in recs)
    assert len(recs) == 25 and sorted(counts.values()) == [2] * 5 + [3] * 5
    assert [r.key for r in recs] == [r.key for r in iter_fashion_mnist("test", limit=25)]
    assert [r.key for r in recs] == sorted(r.key for r in recs) and recs[0].key.startswith("fmnist/test/")
    r = recs[0]
    assert r.meta == {"label": r.meta["label"], "class": CLASSES[r.meta["label"]], "split": "test"}
    assert CLASSES[r.meta["label"]] in r.txt and r.txt == caption(r.key, CLASSES[r.meta["label"]])
    img = Image.open(io.BytesIO(r.jpg))
    assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (28, 28))
    assert caption("fmnist/test/00000", "ankle boot") in {
        "a photo of an ankle boot", "an ankle boot", "a black and white photo of the ankle boot",
        "a product photo of an ankle boot", "a small grayscale picture of an ankle boot"}


def test_interleave_mixes_in_proportion():
    a = [Record(f"a/{i}", b"", "", {}) for i in range(10)]
    b = [Record(f"b/{i}", b"", "", {}) for i in range(30)]
    out = [r.key[0] for r in interleave([(iter(a), 10), (iter(b), 30)])]
    assert len(out) == 40 and all(1 <= "".join(out[i:i + 8]).count("a") <= 3 for i in range(0, 40, 8))
