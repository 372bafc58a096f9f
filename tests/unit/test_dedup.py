"""Deduplication (litlab.data.dedup): each method on real photos and their real edits, thresholds, chunked search,
modes and the evaluation sets they select, counts on real shards with planted duplicates, config errors."""

from __future__ import annotations

import functools
import io
import typing

import numpy as np
import pytest
from litlab.config import ConfigError, Data, RunConfig, apply_overrides, override
from litlab.data.dedup import (
    DEDUP_METHODS,
    MODES,
    ORIGINALS,
    SHARD_SPLITS,
    DedupResult,
    EvalIndex,
    EvalSource,
    build_eval_index,
    dedup_rows,
    dedup_sources,
    get_method,
    match_batch,
    plan_for,
)
from litlab.data.dedup.evalsets import eval_batches
from litlab.data.dedup.search import rows_per_chunk
from litlab.data.shards import Record, encode_jpeg, iter_rows, write_shards
from litlab.evaluators.sets import EVAL_SETS
from litlab.registry import UnknownNameError
from PIL import Image, ImageEnhance
from skimage import data as photos

PHOTOS = {name: Image.fromarray(getattr(photos, name)()).convert("RGB").resize((128, 96))
          for name in ("astronaut", "coffee", "chelsea", "rocket")}


def jpeg(img: Image.Image, quality: int = 95) -> bytes:
    return encode_jpeg(img, quality=quality)


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@functools.cache
def method_of(name: str):
    """One instance per method for the whole module (the embedding tower loads once)."""
    return get_method(name)


def index_of(method_name: str, items: dict[str, bytes], threshold: float = 0.0) -> tuple[EvalIndex, typing.Any]:
    method = method_of(method_name)
    feats, ok = method.features({"jpg": list(items.values())})
    assert ok.all()
    thr = method.check_threshold(threshold)
    return EvalIndex(method_name, thr, np.array(list(items), dtype=object), method.prepare(feats)), method


def removed(method_name: str, evals: dict[str, bytes], tune: dict[str, bytes], threshold: float = 0.0) -> dict:
    index, method = index_of(method_name, evals, threshold)
    result = dedup_rows([{"key": list(tune), "jpg": list(tune.values())}], index, method)
    return {k: v[0] for k, v in result.removed.items()}


EVALS = {"e/astronaut": png(PHOTOS["astronaut"]), "e/coffee": png(PHOTOS["coffee"])}
EXACT_COPY = {"t/astronaut-copy": png(PHOTOS["astronaut"])}  # other bytes? same pixels
NEAR = {"t/coffee-jpeg30": jpeg(PHOTOS["coffee"], 30),
        "t/coffee-bright": png(ImageEnhance.Brightness(PHOTOS["coffee"]).enhance(1.15)),
        "t/astronaut-half": png(PHOTOS["astronaut"].resize((64, 48)))}
OTHERS = {"t/chelsea": png(PHOTOS["chelsea"]), "t/rocket": jpeg(PHOTOS["rocket"])}


def test_exact_matches_equal_pixels_only():
    assert removed("exact", EVALS, {**EXACT_COPY, **NEAR, **OTHERS}) == {"t/astronaut-copy": "e/astronaut"}


def test_phash_matches_edits_and_not_other_photos():
    assert removed("phash", EVALS, {**EXACT_COPY, **NEAR, **OTHERS}) == {
        "t/astronaut-copy": "e/astronaut", "t/coffee-jpeg30": "e/coffee", "t/coffee-bright": "e/coffee",
        "t/astronaut-half": "e/astronaut"}


def test_embedding_matches_edits_and_not_other_photos():
    crop = {"t/coffee-crop": png(PHOTOS["coffee"].crop((6, 5, 122, 91)))}  # 90 % of each side: cosine ~0.97
    got = removed("embedding", EVALS, {**EXACT_COPY, **NEAR, **OTHERS, **crop}, threshold=0.9)
    assert got == {"t/astronaut-copy": "e/astronaut", "t/coffee-bright": "e/coffee", "t/coffee-crop": "e/coffee"}
    # at 128 x 96, JPEG q30 (cosine ~0.85) and half size (~0.82) need a lower threshold; other photos stay < 0.4
    assert set(removed("embedding", EVALS, {**NEAR, **OTHERS}, threshold=0.75)) == set(NEAR)


def test_phash_threshold_is_a_hamming_distance():
    method = get_method("phash")
    (e,), _ = method.features({"jpg": [EVALS["e/coffee"]]})
    (t,), _ = method.features({"jpg": [png(PHOTOS["coffee"].crop((6, 5, 122, 91)))]})  # a crop: ~18 bits
    d = int(np.bitwise_count(np.array([e ^ t], np.int64).view(np.uint64))[0])
    index = method.prepare(np.array([e]))
    assert d > 4
    for thr, hit in ((d, True), (d + 1, True), (d - 1, False), (method.default_threshold, False)):
        assert method.search(index, np.array([t]), thr).matched[0] == hit, thr


def test_thresholds_default_and_validation():
    assert get_method("phash").check_threshold(0) == DEDUP_METHODS.get("phash").default_threshold
    assert get_method("embedding").check_threshold(0) == DEDUP_METHODS.get("embedding").default_threshold
    assert get_method("phash").check_threshold(6) == 6
    for name, bad in (("phash", 65), ("phash", 2.5), ("embedding", 1.5), ("embedding", -0.2), ("exact", 3)):
        with pytest.raises(ValueError, match=name):
            get_method(name).check_threshold(bad)
    with pytest.raises(UnknownNameError, match="embedding, exact, phash"):
        get_method("pixels")


def planted(seed: int, n_eval: int = 300, n_tune: int = 500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random 64-bit hashes with every 5th tuning hash a 0-3 bit edit of an evaluation hash."""
    rng = np.random.default_rng(seed)
    ev = rng.integers(-2**63, 2**63 - 1, n_eval, dtype=np.int64)
    tune = rng.integers(-2**63, 2**63 - 1, n_tune, dtype=np.int64)
    src = rng.integers(0, n_eval, n_tune // 5)
    flips = [sum(1 << int(b) for b in rng.choice(64, rng.integers(0, 4), replace=False)) for _ in src]
    tune[::5] = (ev[src].view(np.uint64) ^ np.array(flips, np.uint64)).view(np.int64)
    return ev, tune, src


@pytest.mark.parametrize("name", ["phash", "embedding"])
def test_chunked_search_equals_one_block(name):
    ev, tune, src = planted(0)
    method = get_method(name)
    if name == "embedding":  # unit vectors: planted copies at cosine ~0.995, the rest near 0
        rng = np.random.default_rng(1)
        ev = rng.standard_normal((300, 64)).astype(np.float32)
        tune = rng.standard_normal((500, 64)).astype(np.float32)
        tune[::5] = ev[src] + 0.1 * rng.standard_normal((len(src), 64))
        ev /= np.linalg.norm(ev, axis=1, keepdims=True)
        tune /= np.linalg.norm(tune, axis=1, keepdims=True)
    index = method.prepare(ev)
    thr = {"phash": 4, "embedding": 0.9}[name]
    whole = method.search(index, tune, thr, chunk=len(tune))
    assert (whole.best[::5] == src).all() and whole.matched.sum() == len(src)
    for chunk in (1, 7, 64, None):
        part = method.search(index, tune, thr, chunk=chunk)
        assert (part.best == whole.best).all() and np.allclose(part.score, whole.score, equal_nan=True)
        assert all((a == b).all() for a, b in zip(part.hits, whole.hits, strict=True))
    assert rows_per_chunk(10**6, None) >= 1 and rows_per_chunk(10, None) > rows_per_chunk(1000, None)


def test_an_evaluation_set_with_no_matches_and_an_empty_tuning_set():
    for name in ("exact", "phash", "embedding"):
        index, method = index_of(name, EVALS)
        assert dedup_rows([{"key": list(OTHERS), "jpg": list(OTHERS.values())}], index, method).counts() == \
            {"tune_rows": 2, "tune_removed": 0, "eval_matched": 0}
        assert dedup_rows([], index, method).counts() == {"tune_rows": 0, "tune_removed": 0, "eval_matched": 0}
        empty = match_batch({"key": [], "jpg": []}, method, index)
        assert all(len(v) == 0 for v in empty.values())
    empty_index, method = index_of("phash", {})
    assert dedup_rows([{"key": list(NEAR), "jpg": list(NEAR.values())}], empty_index, method).tune_removed == 0


def test_unreadable_tuning_images_match_nothing():
    index, method = index_of("phash", EVALS)
    result = dedup_rows([{"key": ["bad", "copy"], "jpg": [b"\xff\xd8 not a jpeg", EXACT_COPY["t/astronaut-copy"]]}],
                        index, method)
    assert list(result.removed) == ["copy"] and result.tune_rows == 2


def test_eval_matched_counts_every_evaluation_image_hit_once():
    evals = {"e/a": png(PHOTOS["astronaut"]), "e/a-again": png(PHOTOS["astronaut"]), "e/c": png(PHOTOS["coffee"])}
    index, method = index_of("exact", evals)
    tune = [png(PHOTOS["astronaut"])] * 3
    result = dedup_rows([{"key": ["t1", "t2"], "jpg": tune[:2]}, {"key": ["t3"], "jpg": tune[2:]}], index, method)
    assert (result.tune_removed, result.eval_matched) == (3, 2)
    merged = DedupResult(3)
    merged.add(match_batch({"key": ["t1"], "jpg": tune[:1]}, method, index), rows=1)
    assert merged.counts() == {"tune_rows": 1, "tune_removed": 1, "eval_matched": 2}


def cfg_with(**data) -> RunConfig:
    evals = data.pop("evals", ("zeroshot/fmnist-test",))
    return apply_overrides(RunConfig(), {**{f"data.{k}": v for k, v in data.items()}, "eval.evals": evals})


def test_modes_select_test_sets_then_train_splits():
    evals = ("zeroshot/fmnist-test", "retrieval/emoji-heldout", "zeroshot/cifar100-test@/d/cifar.tar.gz",
             "fewshot/pets-trainval+pets-test@/d/pets", "crossstyle/emoji-style-google-apple")
    assert dedup_sources(evals, "none", "/root") == []
    test = dedup_sources(evals, "test", "/root")
    assert [(s.name, s.root, s.role) for s in test] == [
        ("fmnist-test", "/root", "test"), ("emoji-heldout", "/root", "test"),
        ("cifar100-test", "/d/cifar.tar.gz", "test"), ("pets-test", "/d/pets", "test"),
        ("emoji-style-google-apple", None, "test")]
    both = dedup_sources(evals, "train+test", "/root")
    assert both[:5] == test
    assert [(s.name, s.root, s.role) for s in both[5:]] == [
        ("fmnist-idx-train", None, "train"), ("cifar100-train", "/d/cifar.tar.gz", "train"),
        ("pets-trainval", "/d/pets", "train")]  # the few-shot probe's train set and pets-test's split: once
    with pytest.raises(ValueError, match="none, test, train\\+test"):
        dedup_sources(evals, "all", "/root")


def test_plan_names_the_split_deterministically_and_none_means_no_plan():
    assert plan_for(cfg_with(dedup="none")) is None
    a = plan_for(cfg_with(dedup="test", root="/data"))
    assert a.split.startswith("train-dedup-test-phash-")
    assert a.split == plan_for(cfg_with(dedup="test", root="/data")).split
    others = [cfg_with(dedup="train+test", root="/data"), cfg_with(dedup="test", root="/data", dedup_threshold=4),
              cfg_with(dedup="test", root="/data", dedup_method="exact"),
              cfg_with(dedup="test", root="/data", evals=("retrieval/emoji-heldout",))]
    names = {plan_for(c).split for c in others}
    assert len(names) == 4 and a.split not in names
    assert plan_for(others[0]).split.startswith("train-dedup-traintest-")
    assert plan_for(others[1]).split.startswith("train-dedup-test-phash-4-")


def test_config_fields_and_errors_list_the_valid_choices():
    assert Data().dedup == "none" and Data().dedup_threshold == 0.0
    assert set(typing.get_args(typing.get_type_hints(Data)["dedup_method"])) == set(DEDUP_METHODS.names())
    assert set(typing.get_args(typing.get_type_hints(Data)["dedup"])) == set(MODES)
    with pytest.raises(ConfigError, match="data.dedup.*valid: none, test, train\\+test"):
        override(RunConfig(), "data.dedup", "everything")
    with pytest.raises(ConfigError, match="valid: exact, phash, embedding"):
        override(RunConfig(), "data.dedup_method", "dhash")
    with pytest.raises(ConfigError, match="data.dedup_threshold.*0..64"):
        plan_for(cfg_with(dedup="test", dedup_threshold=99))
    with pytest.raises(ConfigError, match="eval.evals"):
        plan_for(cfg_with(dedup="test", evals=("zeroshot/no-such-set",)))
    assert override(RunConfig(), "data.dedup_threshold", "0.95").data.dedup_threshold == 0.95


def test_every_evaluation_set_has_a_way_to_its_images():
    assert set(EVAL_SETS) <= set(ORIGINALS) | set(SHARD_SPLITS)


def test_originals_of_users_sets_are_the_images_their_loaders_keep(tmp_path):
    from fixtures_eval_sets import user_roots
    from litlab.evaluators.sets import load_eval_set

    phash = get_method("phash")
    for name, root in user_roots(tmp_path).items():
        source = EvalSource(name, str(root), "test")
        index = build_eval_index([source], phash, 10.0)
        assert len(index) == len(load_eval_set(name, root, 16).images), name
        assert all(str(k).startswith(f"{name}:") for k in index.keys)


def test_shipped_originals_start_with_their_keys():
    for name in ("fmnist-idx-test", "emoji-style-google-apple", "tuxpaint-stamps"):
        batch = next(eval_batches(EvalSource(name, None, "test"), ("phash",), batch_size=8))
        feats, ok = get_method("phash").features(batch)
        assert len(batch["key"]) == 8 and ok.all() and batch["key"][0].startswith(f"{name}:")


@pytest.fixture(scope="module")
def planted_root(tiny_shards, tmp_path_factory):
    """A tuning split of 40 real rows of tiny_shards/train plus exact copies of 7 fmnist-test rows (new keys)."""
    root = tmp_path_factory.mktemp("dedup_root")
    for split in ("fmnist-test", "emoji-heldout"):
        (root / split).symlink_to(tiny_shards / split)
    rows = [r for _, r in zip(range(40), iter_rows(tiny_shards / "train"), strict=False)]
    copies = [r for i, r in enumerate(iter_rows(tiny_shards / "fmnist-test")) if i % 25 == 3][:7]
    records = [Record(r["key"], r["jpg"], r["txt"], {}) for r in rows]
    records += [Record(f"planted/{i}", r["jpg"], r["txt"], {}) for i, r in enumerate(copies)]
    write_shards(records, root / "train", rows_per_shard=16)
    return root, [f"fmnist-test:{r['key']}" for r in copies]


def test_test_mode_on_real_shards_removes_exactly_the_planted_copies(planted_root):
    root, copied = planted_root
    cfg = cfg_with(dedup="test", dedup_method="exact", root=str(root),
                   evals=("zeroshot/fmnist-test", "retrieval/emoji-heldout"))
    plan = plan_for(cfg)
    method = plan.make_method()
    index = build_eval_index(plan.sources, method, plan.threshold)
    assert [s.images for s in index.sets] == [200, len(list(iter_rows(root / "emoji-heldout", ["key"])))]
    batches = iter_rows(root / "train", ["key", "sha1"], batch_size=10)
    result = dedup_rows(({"key": [r["key"]], "sha1": [r["sha1"]]} for r in batches), index, method)
    assert result.counts() == {"tune_rows": 47, "tune_removed": 7, "eval_matched": 7}
    assert {k: v[0] for k, v in result.removed.items()} == {f"planted/{i}": key for i, key in enumerate(copied)}
