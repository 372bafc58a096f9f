"""Chance levels against brute force: every ranking of a tiny set scored by litlab's own evaluator code."""

import itertools
import math

import numpy as np
import pytest
import torch
from litlab.evaluators.linear_probe import fewshot_probe
from litlab.evaluators.retrieval import i2t_ranks, retrieval_metrics, t2i_ranks
from litlab.evaluators.zeroshot import classification_metrics
from litlab.stats import SetShape, chance_of
from litlab.stats.chance import (
    crossstyle_recall_chance,
    fewshot_chance,
    i2t_recall_chance,
    mean_per_class_recall_chance,
    t2i_recall_chance,
    topk_chance,
)
from scipy import stats

KS = (1, 2, 3, 5, 10)


def _all_orders(n: int) -> torch.Tensor:
    """(n!, n) every ranking of n candidates as distinct scores."""
    return torch.tensor(list(itertools.permutations(range(n))), dtype=torch.float64)


@pytest.mark.parametrize("captions", [(1, 1, 1), (2, 1, 3), (1, 4), (3, 3)])
def test_i2t_chance_is_exact_over_every_ranking(captions):
    # the evaluator's own rank rule (pessimistic ties, ANY caption of the image) on every ordering of the M
    # captions; an image row's scores are the ordering itself (ztxt = identity, so sim = zimg)
    m = sum(captions)
    c2i = torch.repeat_interleave(torch.arange(len(captions)), torch.tensor(captions))  # (M,)
    ranks = torch.stack([i2t_ranks(order.expand(len(captions), m), torch.eye(m, dtype=torch.float64), c2i)
                         for order in _all_orders(m)])  # (M!, N)
    for k in KS:
        assert i2t_recall_chance(k, captions) == pytest.approx((ranks < k).double().mean().item(), abs=1e-12)


@pytest.mark.parametrize("images", [1, 2, 3, 4])
def test_t2i_and_crossstyle_chance_are_exact_over_every_ranking(images):
    # t2i_ranks serves both text -> image and cross-style image -> image: one right candidate of `images`
    c2i = torch.arange(images)  # (N,) one query per candidate; each query's scores are the ordering (sim = ztxt)
    ranks = torch.stack([t2i_ranks(torch.eye(images, dtype=torch.float64), order.expand(images, images), c2i)
                         for order in _all_orders(images)])  # (N!, N)
    for k in KS:
        exact = (ranks < k).double().mean().item()
        assert t2i_recall_chance(k, images) == pytest.approx(exact, abs=1e-12)
        assert crossstyle_recall_chance(k, images) == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize("classes", [2, 4, 6])
def test_zeroshot_chance_is_exact_over_every_ranking(classes):
    # every ordering of the C classes, once with each true label: the evaluator's top-1, top-5 and mean
    # per-class recall averaged over all of them are the chance levels
    orders = _all_orders(classes)  # (C!, C)
    scores = orders.repeat(classes, 1)  # (C * C!, C)
    labels = torch.arange(classes).repeat_interleave(len(orders))  # (C * C!,)
    got = classification_metrics(scores, labels)
    assert topk_chance(1, classes) == pytest.approx(got["top1"], abs=1e-6)  # the evaluator averages in float32
    assert topk_chance(5, classes) == pytest.approx(got["top5"], abs=1e-6)
    assert mean_per_class_recall_chance(classes) == pytest.approx(got["mean_per_class_recall"], abs=1e-6)


def test_i2t_chance_hand_computed():
    # captions (2, 1): M = 3, k = 1. Image 0: 1 - C(1,1)/C(3,1) = 1 - 1/3 = 2/3; image 1: 1 - C(2,1)/C(3,1) = 1/3
    assert i2t_recall_chance(1, (2, 1)) == pytest.approx(0.5)
    # 5 captions each, 100 images, k = 1: 5/500 = 0.01 exactly
    assert i2t_recall_chance(1, (5,) * 100) == pytest.approx(0.01)


@pytest.mark.parametrize(("c", "k"), [(1, 1), (5, 1), (5, 5), (5, 10), (3, 10)])
def test_i2t_chance_is_the_hypergeometric_miss_probability(c, k):
    # 1000 images with c captions each (M = 1000 c): P(none of c right captions among k drawn of M)
    assert i2t_recall_chance(k, (c,) * 1000) == pytest.approx(1 - stats.hypergeom(1000 * c, c, k).pmf(0), rel=1e-9)


def test_i2t_chance_with_mixed_caption_counts_averages_over_images():
    captions = (1, 5, 3) * 300  # M = 2700
    hit = {c: 1 - stats.hypergeom(2700, c, 10).pmf(0) for c in (1, 5, 3)}
    expected = np.mean([hit[c] for c in captions])
    assert i2t_recall_chance(10, captions) == pytest.approx(expected, rel=1e-9)


def test_i2t_chance_is_one_when_k_covers_the_wrong_captions():
    assert i2t_recall_chance(3, (2, 1)) == 1.0  # M = 3 <= k
    assert i2t_recall_chance(2, (2, 2)) == pytest.approx(1 - (1 / 6))  # C(2,2)/C(4,2) = 1/6 missed


@pytest.mark.parametrize("bad", [(), (1, 0), (2, -1)])
def test_i2t_chance_needs_captioned_images(bad):
    with pytest.raises(ValueError, match="captions_per_image"):
        i2t_recall_chance(1, bad)


@pytest.mark.parametrize(("k", "classes"), [(0, 10), (1, 0), (1.5, 10), ("1", 10)])
def test_counts_must_be_positive_integers(k, classes):
    with pytest.raises(ValueError, match="positive integer"):
        topk_chance(k, classes)


def test_numpy_integers_are_counts():
    assert topk_chance(np.int64(5), np.int64(10)) == 0.5
    assert fewshot_chance(10) == 0.1


def _logged_metric_names() -> list[str]:
    """Every metric name the evaluators log, from running their own code on tiny random inputs."""
    g = torch.Generator().manual_seed(0)
    zs = classification_metrics(torch.randn(12, 3, generator=g), torch.arange(12) % 3)
    rt = retrieval_metrics(torch.randn(3, 4, generator=g), torch.randn(5, 4, generator=g),
                           torch.tensor([0, 0, 1, 2, 2]))
    rng = np.random.default_rng(0)
    fs = fewshot_probe(rng.normal(size=(40, 4)), np.arange(40) % 2, rng.normal(size=(6, 4)), np.arange(6) % 2,
                       shots=(1, 5), draws=1)
    crossstyle = ("r1", "r5", "r10")  # litlab.evaluators.suite.crossstyle
    return ([f"zeroshot/s/{k}" for k in zs] + [f"retrieval/s/{k}" for k in rt] + [f"fewshot/s/{k}" for k in fs]
            + [f"crossstyle/s/{k}" for k in crossstyle])


NO_CHANCE = ("top1_std", "lambda")  # a spread over draws and a chosen ridge strength: not accuracies
SHAPE = SetShape(classes=4, captions_per_image=(2, 1, 3), targets=7)


@pytest.mark.parametrize("metric", _logged_metric_names())
def test_every_logged_accuracy_has_a_chance_level(metric):
    if metric.endswith(NO_CHANCE):
        with pytest.raises(ValueError, match="no chance level"):
            chance_of(metric, SHAPE)
    else:
        assert 0.0 < chance_of(metric, SHAPE) <= 1.0


@pytest.mark.parametrize(("metric", "expected"), [
    ("zeroshot/fmnist-test/top1", 1 / 4), ("zeroshot/fmnist-test/top5", 1.0),
    ("zeroshot/fmnist-test/mean_per_class_recall", 1 / 4), ("fewshot/fmnist-idx-test/10shot/top1", 1 / 4),
    ("retrieval/tuxpaint-stamps/t2i_r1", 1 / 3), ("retrieval/tuxpaint-stamps/i2t_r1", (2 / 6 + 1 / 6 + 3 / 6) / 3),
    ("crossstyle/emoji-style-google-apple/r5", 5 / 7),
])
def test_chance_of_dispatches_to_the_right_formula(metric, expected):
    assert chance_of(metric, SHAPE) == pytest.approx(expected)


@pytest.mark.parametrize(("metric", "field"), [("zeroshot/s/top1", "classes"), ("retrieval/s/i2t_r5",
                                               "captions_per_image"), ("crossstyle/s/r1", "targets")])
def test_chance_of_names_the_missing_shape(metric, field):
    with pytest.raises(ValueError, match=f"SetShape.{field}"):
        chance_of(metric, SetShape())


def test_chance_of_unknown_metric_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"valid: zeroshot/<set>/top<k>"):
        chance_of("zeroshot/s/accuracy", SHAPE)


def test_coco_like_i2t_r1_is_five_times_t2i_r1_to_first_order():
    # 5 captions per image: about 5x the one-caption chance (exactly 1 - C(M-5,1)/C(M,1) = 5/M per image)
    images = 1000
    assert i2t_recall_chance(1, (5,) * images) == pytest.approx(5 * t2i_recall_chance(1, 5 * images))
    assert math.isclose(t2i_recall_chance(10, images), 0.01)
