"""Vocabulary coverage and declared sharing, on hand-made shards whose numbers are worked out by hand."""

from __future__ import annotations

import json
import math

import pytest
from litlab.data.coverage import ALL, OTHER, coverage_report, main, measure, words
from litlab.data.coverage_table import to_markdown
from litlab.data.shards import Record, encode_jpeg, write_shards
from PIL import Image

JPG = encode_jpeg(Image.new("RGB", (8, 8), "white"))
RECIPE = {"version": 2, "parts": [{"source": "noto-emoji", "options": {}, "heldout": "exclude"},
                                  {"source": "openclipart", "options": {}}]}


def test_words_are_lowercased_runs_of_letters_and_digits():
    assert words("T-shirt/top") == ["t", "shirt", "top"]
    assert words("flag: Côte d’Ivoire") == ["flag", "côte", "d", "ivoire"]
    assert words("snake_case 2 Cats.") == ["snake", "case", "2", "cats"]


def test_measure_counts_distinct_texts_and_words():
    c = measure(["red apple", "green apple", "red car", "red apple"], {"red", "apple", "car"})
    assert (c.texts, c.words, c.uncovered) == (3, 4, ("green apple",))
    assert c.texts_covered == pytest.approx(2 / 3) and c.words_covered == pytest.approx(3 / 4)
    empty = measure([], {"red"})
    assert empty.texts == 0 and math.isnan(empty.texts_covered) and math.isnan(empty.words_covered)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """train: 2 emoji rows, 1 clip-art row with a keyword caption, 1 row of a user's own; two tiny eval splits."""
    root = tmp_path_factory.mktemp("coverage")
    write_shards([Record("emoji/1F34E", JPG, "red apple", {}), Record("emoji/1F455", JPG, "shirt", {}),
                  Record("openclipart/shoes/boot", JPG, "Ankle Boot", {}, ("Ankle Boot", "Ankle Boot, top, shoe")),
                  Record("mine/x", JPG, "green tea", {})], root / "train", recipe=RECIPE)
    write_shards([Record(f"fmnist/test/{i}", JPG, "x", {"label": label, "class": name})
                  for i, (label, name) in enumerate([(1, "ankle boot"), (0, "T-shirt/top")])], root / "fmnist-test")
    write_shards([Record("emoji/1F34F", JPG, "green apple", {}), Record("emoji/1F353", JPG, "red apple", {})],
                 root / "emoji-heldout")
    return root


EVALS = ["zeroshot/fmnist-test", "retrieval/emoji-heldout", "crossstyle/emoji-style-google-apple"]


def pair(report, source, spec):
    return next(p for p in report["pairs"] if p["source"] == source and p["eval"] == spec)


def test_coverage_by_source_and_all_together_by_hand(root):
    r = coverage_report(str(root), "train", EVALS)
    assert r["train"] == {"root": str(root), "split": "train", "rows": 4, "words": 9,
                          "recipe": "v2: noto-emoji (exclude held-out) + openclipart"}
    assert [(s["source"], s["rows"], s["words"]) for s in r["sources"]] == [("noto-emoji", 2, 3), ("openclipart", 1, 4),
                                                                          (OTHER, 1, 2)]
    # fmnist-test names: "T-shirt/top" {t, shirt, top}, "ankle boot" {ankle, boot}: 2 texts, 5 words
    expect = {"noto-emoji": (0.0, 1 / 5), "openclipart": (1 / 2, 3 / 5), OTHER: (0.0, 0.0), ALL: (1 / 2, 4 / 5)}
    for source, (texts, words_) in expect.items():
        p = pair(r, source, "zeroshot/fmnist-test")
        assert (p["texts"], p["words"]) == (2, 5)
        assert (p["texts_covered"], p["words_covered"]) == pytest.approx((texts, words_))
    assert pair(r, ALL, "zeroshot/fmnist-test")["uncovered_first"] == [{"text": "T-shirt/top", "missing": ["t"]}]
    # emoji-heldout captions "green apple", "red apple": 3 words
    expect = {"noto-emoji": (1 / 2, 2 / 3), "openclipart": (0.0, 0.0), OTHER: (0.0, 1 / 3), ALL: (1.0, 1.0)}
    for source, shares in expect.items():
        p = pair(r, source, "retrieval/emoji-heldout")
        assert (p["texts_covered"], p["words_covered"]) == pytest.approx(shares)
    image_only = pair(r, ALL, "crossstyle/emoji-style-google-apple")
    assert image_only["texts"] == 0 and image_only["texts_covered"] is None
    json.dumps(r, allow_nan=False)  # plain JSON: what the sweep logs as an artifact


def test_declared_sharing_follows_the_recipe(root):
    r = coverage_report(str(root), "train", EVALS)
    emoji = pair(r, "noto-emoji", "retrieval/emoji-heldout")
    held = "no (held out of the same pool)"
    assert (emoji["images"], emoji["style"], emoji["concepts"]) == (held, "yes", held)
    assert [pair(r, "openclipart", "zeroshot/fmnist-test")[k] for k in ("images", "style", "concepts")] == ["no"] * 3
    styles = pair(r, "noto-emoji", "crossstyle/emoji-style-google-apple")  # Google draws Noto's art
    assert (styles["images"], styles["style"], styles["concepts"]) == ("yes", "partly (Noto emoji art)", "yes")
    assert pair(r, OTHER, "zeroshot/fmnist-test")["style"] == "undeclared"


def test_markdown_table_rows(root):
    md = to_markdown(coverage_report(str(root), "train", EVALS))
    assert "| `zeroshot/fmnist-test` | openclipart | 1 | no | no | no | 50.0 % of 2 | 60.0 % of 5 |" in md
    assert f"| `retrieval/emoji-heldout` | **{ALL}** | 4 | | | | **100.0 % of 2** | **100.0 % of 3** |" in md
    assert "| `crossstyle/emoji-style-google-apple` | noto-emoji | 2 | yes | partly (Noto emoji art) | yes | " \
           "image only | – |" in md
    assert "| tuning | noto-emoji | Noto emoji drawings | Noto emoji art | Unicode emoji (held-out items excluded) |" \
           in md
    assert f"| tuning | {OTHER} | undeclared (your own data) | – | – |" in md
    assert '1 of 2 class names have a word no tuning caption has, e.g. "T-shirt/top" (t)' in md


def test_cli_prints_the_table_and_refuses_unknown_sets(root, tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["--root", str(root), "--evals", "zeroshot/fmnist-test", "--json", str(out)]) == 0
    assert "| `zeroshot/fmnist-test` | noto-emoji | 2 |" in capsys.readouterr().out
    assert json.loads(out.read_text())["train"]["rows"] == 4
    assert main(["--root", str(root), "--evals", "zeroshot/fmnist-tset"]) == 2
    assert "did you mean 'fmnist-test'" in capsys.readouterr().err


def test_a_sweep_gets_one_report_per_distinct_data_and_evaluations(root, tmp_path):
    from litlab.config import RunConfig, apply_overrides
    from litlab.data.coverage import sweep_coverage

    cfg = apply_overrides(RunConfig(), {"data.root": str(root), "eval.evals": ("zeroshot/fmnist-test",)})
    once = sweep_coverage([cfg, apply_overrides(cfg, {"setup": "uu"})])  # two cells, the same data: one report
    assert sorted(once) == ["coverage/coverage.json", "coverage/coverage.md"]
    assert json.loads(once["coverage/coverage.json"])["train"]["rows"] == 4
    gone = apply_overrides(cfg, {"data.root": str(tmp_path / "nowhere")})
    twice = sweep_coverage([cfg, gone])
    assert sorted(twice) == ["coverage/0-train.json", "coverage/0-train.md", "coverage/1-train.md"]
    assert "not computed" in twice["coverage/1-train.md"] and "nowhere" in twice["coverage/1-train.md"]
