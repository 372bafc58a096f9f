"""Every registered evaluation-set loader: shapes, max_images, determinism, errors; plus the set types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures_eval_sets import user_roots
from litlab.evaluators.datasets import LabelledSet
from litlab.evaluators.sets import (
    EVAL_SETS,
    SET_TEXTS,
    CrossStyleSet,
    LabelledEvalSet,
    RetrievalSet,
    SetTexts,
    load_eval_set,
    set_texts,
)
from litlab.evaluators.sets.images import decode_all, subset
from litlab.registry import UnknownNameError

SHIPPED = {"fmnist-test": LabelledEvalSet, "fmnist-idx-train": LabelledEvalSet, "fmnist-idx-test": LabelledEvalSet,
           "emoji-groups": LabelledEvalSet, "emoji-subgroups": LabelledEvalSet, "emoji-heldout": RetrievalSet,
           "emoji-vendors-heldout": LabelledEvalSet,
           "tuxpaint-stamps": RetrievalSet, "emoji-style-google-apple": CrossStyleSet,
           "emoji-style-google-twitter": CrossStyleSet, "emoji-style-apple-twitter": CrossStyleSet}
USERS = {"image-folder": LabelledEvalSet, "coco-captions": RetrievalSet, "cifar100-test": LabelledEvalSet,
         "cifar100-train": LabelledEvalSet, "pets-test": LabelledEvalSet, "pets-trainval": LabelledEvalSet}
SHARD_SETS = {"fmnist-test", "emoji-heldout"}  # read the demo shards: tests use the tiny_shards fixture


@pytest.fixture(scope="module")
def roots(tmp_path_factory, tiny_shards) -> dict[str, Path | None]:
    """Where each loader reads: None (standard install location), the tiny shards, or users'-format copies."""
    out: dict[str, Path | None] = {name: None for name in SHIPPED}
    out |= {name: tiny_shards for name in SHARD_SETS}
    return out | user_roots(tmp_path_factory.mktemp("user_sets"))


def images_of(s) -> np.ndarray:
    return s.query_images if isinstance(s, CrossStyleSet) else s.images


def test_every_registered_loader_is_tested():
    assert set(EVAL_SETS) == set(SHIPPED) | set(USERS)


@pytest.mark.parametrize("name", sorted({**SHIPPED, **USERS}))
def test_loader_returns_its_type_at_size_and_max_images(name, roots):
    s = load_eval_set(name, roots[name], size=24, max_images=3)
    assert isinstance(s, {**SHIPPED, **USERS}[name]) and s.name == name
    images = images_of(s)
    assert images.dtype == np.uint8 and images.shape[1:] == (24, 24, 3) and 1 <= len(images) <= 3
    if isinstance(s, LabelledSet):
        assert len(s.labels) == len(images) and s.labels.max() < len(s.classnames)
        assert all(isinstance(c, str) and c for c in s.classnames)
    again = load_eval_set(name, roots[name], size=24, max_images=3)  # deterministic
    assert np.array_equal(images_of(again), images)


@pytest.mark.parametrize("name", sorted({**SHIPPED, **USERS}))
def test_missing_root_is_a_clear_error_naming_the_path(name, tmp_path):
    absent = tmp_path / "no_such_place"
    with pytest.raises(FileNotFoundError, match="no_such_place"):
        load_eval_set(name, absent, size=8, max_images=1)


@pytest.mark.parametrize("name", sorted({**SHIPPED, **USERS}))
def test_texts_listed_without_images_are_what_the_loader_names(name, roots):
    """SET_TEXTS (the vocabulary coverage's input) agrees with every loader: class names, or captions."""
    texts = set_texts(name, roots[name])
    if issubclass({**SHIPPED, **USERS}[name], LabelledSet):
        assert texts.kind == "class names" and texts.texts == load_eval_set(name, roots[name], 8, 3).classnames
    elif {**SHIPPED, **USERS}[name] is RetrievalSet:
        s = load_eval_set(name, roots[name], size=8)
        assert texts.kind == "captions" and set(s.captions) <= set(texts.texts) and len(texts.texts) >= len(s.captions)
    else:
        assert texts == SetTexts("none", ())


def test_every_registered_set_has_a_text_lister():
    assert set(SET_TEXTS) == set(EVAL_SETS)


@pytest.mark.parametrize("name", sorted(USERS))
def test_users_loaders_ask_for_a_root(name):
    with pytest.raises(ValueError, match=f"'{name}'.*pass its path as root"):
        load_eval_set(name, None, size=8)


@pytest.mark.parametrize("name", sorted(USERS))
def test_negative_max_images_is_refused(name, roots):
    with pytest.raises(ValueError, match="max_images"):
        load_eval_set(name, roots[name], size=8, max_images=-1)


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(UnknownNameError, match="did you mean 'tuxpaint-stamps'.*cifar100-test"):
        load_eval_set("tuxpaint-stamp")


def test_subset_spreads_evenly_and_zero_means_all():
    assert subset(10, 0).tolist() == list(range(10))
    assert subset(10, 4).tolist() == [0, 2, 5, 7]
    assert subset(3, 5).tolist() == [0, 1, 2]
    assert subset(10, 4).dtype == np.int64


def test_decode_all_counts_missing_and_corrupt_and_fails_only_when_nothing_reads(tmp_path):
    pixels = np.full((5, 7, 3), 200, np.uint8)
    out = decode_all([pixels, tmp_path / "gone.jpg", b"garbage", pixels[..., 0]], 6, "demo")
    assert out.images.shape == (2, 6, 6, 3) and out.kept.tolist() == [0, 3]
    assert out.skipped == {"corrupt_image": 1, "missing_file": 1}
    with pytest.raises(ValueError, match="demo: none of its 2 images"):
        decode_all([b"garbage", tmp_path / "gone.jpg"], 6, "demo")


def test_set_types_check_their_invariants():
    img = np.zeros((2, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match=r"images \[1\] have no caption"):
        RetrievalSet(img, ("a",), np.array([0]), name="r")
    with pytest.raises(ValueError, match="labels must index"):
        LabelledEvalSet(img, np.array([0, 2]), ("a", "b"), name="l")
    with pytest.raises(ValueError, match="query_to_target must be int64"):
        CrossStyleSet(img, img, np.array([0, 1], np.int32), ("a", "b"), "x", "y")
    ok = RetrievalSet(img, ("a", "b", "c"), np.array([0, 1, 1]), name="r")
    assert ok.skipped == {} and isinstance(LabelledEvalSet(img, np.array([0, 1]), ("a", "b")), LabelledSet)
