import math

import pytest
import torch
from litlab.config import ConfigError, RunConfig, apply_overrides
from litlab.losses import contrastive_loss
from litlab.models.build import build_model, check_names
from litlab.models.image_towers import build_image_tower, known_image_archs
from litlab.models.text_towers import TEXT_TOWERS, build_text_tower, pretrained_text_towers
from litlab.tokenizers import TOKENIZERS, get_tokenizer

torch.set_num_threads(2)


@pytest.mark.parametrize("arch", TEXT_TOWERS.names())
def test_every_text_tower_pools_to_feature_dim(arch):
    tok = get_tokenizer("wordpiece_minilm", 16)
    t = tok(["a photo of a dress", "grinning face"])
    tower = build_text_tower(arch, False, tok.vocab_size, 16)
    out = tower(torch.from_numpy(t.ids), torch.from_numpy(t.mask))
    assert out.shape == (2, tower.feature_dim) and torch.isfinite(out).all()


@pytest.mark.parametrize("arch", known_image_archs())
def test_every_zoo_image_tower_gives_pooled_features(arch):
    tower = build_image_tower(arch, pretrained=True).eval()
    with torch.no_grad():
        out = tower(torch.randint(0, 255, (2, 64, 64, 3), dtype=torch.uint8))
    assert out.shape == (2, tower.feature_dim)


@pytest.mark.parametrize("name", TOKENIZERS.names())
def test_every_tokenizer_pads_and_truncates(name):
    tok = get_tokenizer(name, 8)
    t = tok(["one two three four five six seven eight nine ten eleven", "hi"])
    assert t.ids.shape == (2, 8) and t.mask[0].all() and t.mask[1].sum() < 8
    assert (t.ids[1][t.mask[1] == 0] == tok.pad_id).all()


def test_pretrained_minilm_text_tower_is_not_random():
    tok = get_tokenizer("wordpiece_minilm", 16)
    t = tok(["a photo of a cat", "a picture of a kitten", "stock market report"])
    ids, mask = torch.from_numpy(t.ids), torch.from_numpy(t.mask)
    z = torch.nn.functional.normalize(build_text_tower("minilm_l6", True, tok.vocab_size, 16).eval()(ids, mask), dim=-1)
    assert z[0] @ z[1] > z[0] @ z[2] + 0.2  # real sentence embeddings: cat ~ kitten, not ~ stocks


def tiny(setup: str):
    return apply_overrides(RunConfig(), {"setup": setup, "image.arch": "mobilenet_v2", "text.arch":
                                         "minilm_l6" if setup[1] in "LU" else "transformer_tiny"})


def _steps(model, n=2):
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    tok = get_tokenizer("wordpiece_minilm", 16)(["red dress", "blue coat", "a boot", "a bag"])
    images = torch.randint(0, 255, (4, 32, 32, 3), dtype=torch.uint8)
    model.train()
    for _ in range(n):
        zimg, ztxt, scale, _ = model(images, torch.from_numpy(tok.ids), torch.from_numpy(tok.mask))
        opt.zero_grad()
        contrastive_loss(zimg, ztxt, scale).backward()
        opt.step()


@pytest.mark.parametrize("setup", [a + b for a in "LUu" for b in "LUu"])
def test_lock_semantics_of_every_setup(setup):
    model = build_model(tiny(setup))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _steps(model)
    for tower, letter in zip(("image", "text"), setup, strict=True):
        mod = getattr(model, tower)
        changed = any(not torch.equal(before[f"{tower}.{k}"], v) for k, v in mod.state_dict().items())
        if letter == "L":
            assert not changed, f"{tower} is locked but changed (BatchNorm statistics included)"
            assert not any(p.requires_grad for p in mod.parameters()) and not mod.training
        else:
            assert changed and all(p.requires_grad for p in mod.parameters())


def test_u_is_random_init_and_U_loads_the_checkpoint():
    pre = build_model(tiny("UU")).state_dict()
    rnd = build_model(apply_overrides(tiny("uu"), {"text.arch": "minilm_l6"})).state_dict()  # same archs, random
    locked = build_model(tiny("LL")).state_dict()
    for tower in ("image", "text"):
        key = next(k for k in pre if k.startswith(f"{tower}.") and k.endswith("weight"))
        assert not torch.equal(pre[key], rnd[key]), f"{tower}: u equals the checkpoint"
        assert torch.equal(pre[key], locked[key]), f"{tower}: U and L load different weights"


def test_check_names_fails_fast_with_choices():
    with pytest.raises(ConfigError, match="unknown text tower 'bert'.*valid: minilm_l6"):
        check_names(apply_overrides(RunConfig(), {"text.arch": "bert"}))
    with pytest.raises(ConfigError, match="unknown tokenizer"):
        check_names(apply_overrides(RunConfig(), {"text.tokenizer": "sp"}))
    with pytest.raises(ConfigError, match=f"use one of {pretrained_text_towers()[0]}"):
        check_names(apply_overrides(RunConfig(), {"setup": "LU", "text.arch": "transformer_tiny"}))


def test_a_pretrained_text_tower_refuses_a_tokenizer_its_embeddings_do_not_index():
    cfg = apply_overrides(RunConfig(), {"setup": "LU", "text.arch": "minilm_l6", "text.tokenizer": "bpe_clip"})
    with pytest.raises(ConfigError, match="'wordpiece_minilm' vocabulary; text.tokenizer='bpe_clip'"):
        check_names(cfg)
    check_names(apply_overrides(cfg, {"setup": "Lu"}))  # random init: any tokenizer's vocabulary size


@pytest.mark.parametrize("objective,bias", [("softmax", None), ("sigmoid", -10.0)])
def test_the_objective_decides_the_logit_bias_and_its_init(objective, bias):
    cfg = apply_overrides(tiny("Lu"), {"optim.objective": objective})
    model = build_model(cfg)
    assert model.logit_scale.item() == pytest.approx(math.log(10.0))  # t' = log 10 for both (LiT, SigLIP)
    assert (model.logit_bias is None) if bias is None else (model.logit_bias.item() == bias)
    assert ("logit_bias" in model.state_dict()) == (bias is not None)  # checkpoints carry it
    custom = build_model(apply_overrides(cfg, {"optim.sigmoid_bias_init": -5, "optim.temperature_init": 3}))
    assert custom.logit_scale.item() == pytest.approx(math.log(3.0))
    assert (custom.logit_bias is None) if bias is None else (custom.logit_bias.item() == -5.0)
