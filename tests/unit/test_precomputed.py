"""Training from precomputed image features equals training through the locked tower itself."""

import numpy as np
import pytest
import torch
from litlab.config import RunConfig, apply_overrides
from litlab.data.transforms import tokenize_batch
from litlab.models.build import build_model
from litlab.models.precomputed import precompute_problem
from litlab.tokenizers import get_tokenizer

CFG = apply_overrides(RunConfig(), {"setup": "Lu", "image.arch": "mobilenet_v2", "image.size": 32})


@pytest.mark.parametrize("objective", ["softmax", "sigmoid"])
def test_cached_features_give_the_same_embeddings_loss_inputs_as_the_tower(objective):
    cfg = apply_overrides(CFG, {"optim.objective": objective})
    full = build_model(cfg).eval()
    if objective == "sigmoid":
        with torch.no_grad():
            full.logit_bias.fill_(-3.5)  # as if trained: the cached model must take it over, not its init
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8))
    tok = get_tokenizer("wordpiece_minilm", 16)(["a cat", "a dog", "a shirt", "a shoe"])
    ids, mask = torch.from_numpy(tok.ids), torch.from_numpy(tok.mask)
    with torch.no_grad():
        features = full.image(images)  # (B, F): what litlab.cluster.precompute stores
    cached = build_model(cfg, image_features=features.shape[1])
    assert not list(cached.image.parameters())  # the tower is never loaded
    cached.load_state_dict(full.state_dict(), strict=False)
    cached.eval()
    with torch.no_grad():
        outputs = full(images, ids, mask), cached(features, ids, mask)  # (zimg, ztxt, t, b) each
        for a, b in zip(*outputs, strict=True):
            torch.testing.assert_close(a, b)
    assert (outputs[1][3] is None) if objective == "softmax" else (outputs[1][3].item() == -3.5)


def test_wrong_feature_width_is_a_clear_error():
    cached = build_model(CFG, image_features=1280)
    with pytest.raises(ValueError, match=r"expects cached features \(B, 1280\)"):
        cached.encode_image(torch.zeros(2, 32, 32, 3))


@pytest.mark.parametrize("overrides,reason", [
    ({}, None),
    ({"setup": "Uu"}, "precompute needs L"),
    ({"image.head": True}, "trainable image head"),
    ({"data.crop_area_min": 0.05}, "crops randomly"),
    ({"optim.unlock_image_at": 10}, "unlocks the image tower"),
])
def test_precompute_problem(overrides, reason):
    problem = precompute_problem(apply_overrides(CFG, overrides))
    assert problem == reason if reason is None else reason in problem


def test_tokenize_batch_passes_features_through():
    out = tokenize_batch({"zimg": [np.ones(3), np.zeros(3)], "txt": ["a", "b c"]}, tokenizer="wordpiece_minilm",
                         max_len=8)
    assert out["image"].dtype == np.float32 and out["image"].shape == (2, 3) and out["ids"].shape == (2, 8)
