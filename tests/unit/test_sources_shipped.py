"""Shard sources of the data that ships as packages: Noto emoji, Fashion-MNIST, Tux Paint stamps,
Open Clip Art and the emoji-datasource art styles. Small real builds (``limit``), no Ray."""

from __future__ import annotations

import io
import json
import pickle
from collections import Counter
from pathlib import Path

import pytest
from fixtures_shipped_sources import FIXTURES
from litlab.data.shards import iter_rows, read_stats, write_shards
from litlab.data.sources.base import SOURCES, SkipRecord, iter_records, make_source
from litlab.data.sources.emoji import EmojiEntry, iter_emoji
from litlab.data.sources.fashion_mnist import CLASSES, cached_split, iter_fashion_mnist
from litlab.data.sources.openclipart import OpenClipArt
from litlab.data.sources.openclipart_text import clean_title, name_from_file, pick_keywords
from litlab.data.sources.tuxpaint import TuxPaintStamps
from PIL import Image

EXPECTED = {  # source -> (key prefix, meta fields)
    "noto-emoji": ("emoji/", {"group", "subgroup", "codepoints", "name"}),
    "fashion-mnist": ("fmnist/test/", {"label", "class", "split"}),
    "tuxpaint-stamps": ("tuxpaint/", {"category", "path"}),
    "openclipart": ("openclipart/", {"path", "category", "title", "keywords", "creator", "caption_from"}),
    "emoji-styles": ("emoji-", {"vendor", "unified", "name", "category", "subcategory"}),
}


def build(name: str, options: dict, out: Path) -> tuple[dict, list[dict]]:
    """Build shards from the source the way the builders do; returns (skipped, rows)."""
    source = make_source(name, options)
    skipped: dict[str, int] = {}
    stats = write_shards(iter_records(source, source.items(), skipped), out, rows_per_shard=8,
                         source_skipped=skipped)
    assert read_stats(out) == stats
    return stats.skipped, list(iter_rows(out))


def test_fixtures_cover_every_shipped_source():
    assert set(FIXTURES) == set(EXPECTED) and set(EXPECTED) <= set(SOURCES.names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_source_builds_shards_that_read_back(name, tmp_path):
    options = FIXTURES[name](tmp_path)
    skipped, rows = build(name, options, tmp_path / "out")
    prefix, fields = EXPECTED[name]
    assert len(rows) > 0 and len(rows) + sum(skipped.values()) == int(options["limit"])
    assert len({r["key"] for r in rows}) == len(rows) and all(r["key"].startswith(prefix) for r in rows)
    for row in rows:
        assert row["txt"].strip() and row["txts"][0] == row["txt"]
        assert set(json.loads(row["json"])) == fields
        img = Image.open(io.BytesIO(row["jpg"]))
        img.load()
        assert img.format == "JPEG" and img.mode == "RGB" and max(img.size) <= 512


@pytest.mark.parametrize(("name", "package", "command"), [
    ("noto-emoji", "fonts-noto-color-emoji", "apt-get install --no-install-recommends fonts-noto-color-emoji"),
    ("fashion-mnist", "dataset-fashion-mnist", "apt-get install --no-install-recommends dataset-fashion-mnist"),
    ("tuxpaint-stamps", "tuxpaint-stamps-default", "apt-get install --no-install-recommends tuxpaint-stamps"),
    ("openclipart", "openclipart-png", "apt-get install --no-install-recommends openclipart-png"),
    ("emoji-styles", "emoji-datasource-google", "npm install --no-save --prefix .* emoji-datasource-google@"),
])
def test_missing_package_names_it_and_the_install_command(name, package, command, tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{package} not installed: {command}.*looked for {tmp_path}"):
        make_source(name, {"input": str(tmp_path)}).items()


def test_items_and_sources_pickle(tmp_path):
    for name in EXPECTED:
        source = make_source(name, FIXTURES[name](tmp_path))
        items = list(source.items())
        again = pickle.loads(pickle.dumps((source, items)))
        assert again == (source, items) and again[0].load(items[-1]).key == source.load(items[-1]).key


def test_noto_emoji_source_matches_the_demo_iterator():
    source = make_source("noto-emoji", {"limit": "6"})
    assert [source.load(e) for e in source.items()] == list(iter_emoji(limit=6))
    with pytest.raises(SkipRecord, match="not_rendered"):
        source.load(EmojiEntry(("E000",), "private use", "g", "s"))


def test_fashion_mnist_items_are_balanced_indices_read_from_a_cached_split():
    source = make_source("fashion-mnist", {"split": "test", "limit": "30", "seed": "1"})
    items = list(source.items())
    assert all(isinstance(i, int) for i in items) and items == sorted(items)
    before = cached_split.cache_info()
    records = [source.load(i) for i in items]
    assert cached_split.cache_info().hits - before.hits == 30 and cached_split.cache_info().misses == before.misses
    assert Counter(r.meta["class"] for r in records) == Counter({c: 3 for c in CLASSES})
    assert records == list(iter_fashion_mnist("test", limit=30, seed=1))


def test_tuxpaint_counts_svg_only_stamps_and_captions_from_the_txt():
    source = TuxPaintStamps()
    items = list(source.items())
    assert not any("_mirror" in i for i in items) and items == sorted(items)
    skipped: dict[str, int] = {}
    frog = next(iter_records(source, ["animals/amphibians/frog.png"], skipped))
    assert (frog.key, frog.txt, frog.meta) == ("tuxpaint/animals/amphibians/frog", "A frog.",
                                               {"category": "animals", "path": "animals/amphibians/frog.png"})
    list(iter_records(source, [i for i in items if i.endswith(".svg")], skipped))
    assert skipped["svg_only"] == sum(i.endswith(".svg") for i in items) > 0


def test_emoji_styles_key_each_vendors_drawing_by_code_points():
    source = make_source("emoji-styles", {"limit": "9"})
    items = list(source.items())
    assert {i.vendor for i in items} == {"google", "apple", "twitter"}
    grin = {v: source.load(i) for v, i in ((i.vendor, i) for i in make_source("emoji-styles", {}).items())
            if i.unified == "1F600"}
    assert {r.key for r in grin.values()} == {"emoji-google/1F600", "emoji-apple/1F600", "emoji-twitter/1F600"}
    assert {r.txt for r in grin.values()} == {"grinning face"} and grin["google"].jpg != grin["apple"].jpg
    apple = make_source("emoji-styles", {"vendors": "apple"})
    not_drawn = [i for i in apple.items() if not i.drawn]
    with pytest.raises(SkipRecord, match="not_drawn"):
        apple.load(not_drawn[0])


def test_openclipart_real_package_counts_and_a_known_drawing():
    items = list(OpenClipArt().items())
    reasons = Counter(i.skip for i in items)
    assert len(items) == 6900 and reasons[""] > 4000 and reasons["shared_caption"] > 1375  # the gramastar stars
    armadillo = next(i for i in items if i.path == "animals/armadillo_architetto_fra_01.png")
    assert armadillo.captions == ("Armadillo", "Armadillo, animal")
    record = OpenClipArt().load(armadillo)
    assert record.key == "openclipart/animals/armadillo_architetto_fra_01" and record.txt == "Armadillo"
    assert record.meta["creator"] == "Architetto Francesco Rollandin" and record.meta["caption_from"] == "title"
    redo = next(i for i in items if i.path == "computer/icons/flat-theme/action/redo.png")
    assert redo.captions[0] == "redo" and redo.meta["caption_from"] == "file_name"
    assert OpenClipArt(file_names=False).items() and all(
        i.meta.get("caption_from") != "file_name" for i in OpenClipArt(file_names=False).items())


def test_openclipart_caption_text_rules():
    assert clean_title("Clipart by Nicu Buculei - pear_01") == "pear"
    assert clean_title("AfricanDrum1") == "African Drum" and clean_title("Woman Police 02") == "Woman Police"
    assert clean_title("Chodovian&#39;s Dog") == "Chodovian's Dog" and clean_title("Apollo 1969") == "Apollo 1969"
    assert name_from_file("armadillo_architetto_fra_01", ["Architetto Francesco Rollandin"]) == "armadillo"
    assert name_from_file("aiga_no_entry1", []) == "aiga no entry"
    assert name_from_file("DangerGeneral", []) == "danger general"
    assert pick_keywords(["hash", "Lighthouse", "boat", "lemon_theme_icon", "0xa1", "Ann Smith", "boat", "sea"],
                         "Lighthouse", ["Ann Smith"], 2) == ["boat", "sea"]


def _clip(root: Path, rel: str, svg: str | None, size: tuple[int, int] = (40, 30)) -> None:
    png = root / "png" / rel
    png.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGBA", size, (200, 0, 0, 128)).save(png)
    if svg is not None:
        target = (root / "svg" / rel).with_suffix(".svg")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(svg, encoding="utf-8")


def _svg(title: str | None, keywords: tuple[str, ...] = (), namespace: bool = True) -> str:
    ns = ' xmlns="http://www.w3.org/2000/svg"' if namespace else ""
    items = "".join(f"<rdf:li>{k}</rdf:li>" for k in keywords)
    work = "" if title is None else (
        f'<cc:Work rdf:about=""><dc:title>{title}</dc:title><dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>'
        "<dc:creator><cc:Agent><dc:title>Jo Doe</dc:title></cc:Agent></dc:creator></cc:Work>")
    return (f'<svg{ns} xmlns:cc="http://web.resource.org/cc/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            f'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><metadata><rdf:RDF>{work}</rdf:RDF>'
            f'</metadata><rect width="1" height="1"/></svg>')


def test_openclipart_skips_are_counted_by_reason(tmp_path):
    _clip(tmp_path, "animals/cat_jo_doe_01.png", _svg("Cat", ("animal", "hash", "jo doe", "pet")))
    _clip(tmp_path, "animals/big_dog.png", _svg("", ("animal",), namespace=False))  # no title: the file name
    for i in range(3):  # a series title: file names; then a shared file name
        _clip(tmp_path, f"shapes/star_{i}.png", _svg("Star Collection"), size=(900, 300))
    _clip(tmp_path, "shapes/12_3.png", _svg(None))  # metadata without a cc:Work
    _clip(tmp_path, "shapes/broken.png", "<svg><metadata><a></b></metadata></svg>")
    _clip(tmp_path, "shapes/lonely.png", None)
    (tmp_path / "png" / "pets").mkdir()
    (tmp_path / "png" / "pets" / "cat.png").symlink_to("../animals/cat_jo_doe_01.png")  # an alias: left out
    skipped, rows = build("openclipart", {"input": str(tmp_path), "max_shared": "2", "max_side": "64"},
                          tmp_path / "out")
    assert skipped == {"bad_svg": 1, "no_metadata": 1, "no_svg": 1, "shared_caption": 3}
    by_key = {r["key"]: r for r in rows}
    assert set(by_key) == {"openclipart/animals/cat_jo_doe_01", "openclipart/animals/big_dog"}
    cat = by_key["openclipart/animals/cat_jo_doe_01"]
    assert cat["txts"] == ["Cat", "Cat, animal, pet"]
    assert json.loads(cat["json"])["keywords"] == ["animal", "hash", "jo doe", "pet"]
    assert by_key["openclipart/animals/big_dog"]["txts"] == ["big dog", "big dog, animal"]


def test_openclipart_scales_big_drawings_down(tmp_path):
    _clip(tmp_path, "shapes/wide.png", _svg("Wide"), size=(900, 300))
    source = OpenClipArt(input=str(tmp_path), max_side=90)
    record = source.load(next(source.items()))
    assert Image.open(io.BytesIO(record.jpg)).size == (90, 30)
