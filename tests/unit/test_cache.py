"""The frozen-image-side embedding cache: hits only when nothing that makes zimg can differ."""

import numpy as np
import torch
from litlab.config import RunConfig, apply_overrides
from litlab.evaluators.cache import ImageEmbeddingCache, image_side_frozen
from litlab.evaluators.zeroshot import image_embeddings
from litlab.models.build import build_model

IMAGES = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)


def model(setup: str, head: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = apply_overrides(RunConfig(), {"setup": setup, "image.arch": "mobilenet_v2", "image.head": head})
    return build_model(cfg).eval()


def counted(m, images, calls):
    def compute():
        calls.append(1)
        return image_embeddings(m, images)
    return compute


def test_frozen_only_for_a_locked_tower_without_a_trainable_head():
    assert image_side_frozen(model("Lu"))
    assert not image_side_frozen(model("Lu", head=True))
    assert not image_side_frozen(model("Uu"))
    assert not image_side_frozen(model("uu"))


def test_disk_cache_is_reused_by_a_new_process_and_equals_a_fresh_computation(tmp_path):
    m, calls = model("Lu"), []
    first = ImageEmbeddingCache(tmp_path).get(m, IMAGES, counted(m, IMAGES, calls))
    again = ImageEmbeddingCache(tmp_path)  # as a later trial or sweep would
    second = again.get(m, IMAGES, counted(m, IMAGES, calls))
    assert len(calls) == 1 and (again.hits, again.misses) == (1, 0)
    torch.testing.assert_close(second, first)
    torch.testing.assert_close(second, image_embeddings(m, IMAGES))


def test_other_images_or_other_weights_miss(tmp_path):
    m, calls = model("Lu"), []
    cache = ImageEmbeddingCache(tmp_path)
    cache.get(m, IMAGES, counted(m, IMAGES, calls))
    other = IMAGES.copy()
    other[0, 0, 0, 0] ^= 1
    cache.get(m, other, counted(m, other, calls))
    m2 = model("Lu")
    with torch.no_grad():
        next(m2.image.parameters()).add_(1e-3)
    cache.get(m2, IMAGES, counted(m2, IMAGES, calls))
    assert len(calls) == 3 and len(list(tmp_path.glob("*.npy"))) == 3


def test_an_unlocked_tower_is_always_recomputed(tmp_path):
    m, calls = model("Uu"), []
    cache = ImageEmbeddingCache(tmp_path)
    for _ in range(2):
        cache.get(m, IMAGES, counted(m, IMAGES, calls))
    assert len(calls) == 2 and not list(tmp_path.iterdir())
