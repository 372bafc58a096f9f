from typing import get_args, get_type_hints

import pytest
import torch
from litlab.config import ConfigError, Optim, RunConfig, apply_overrides, override
from litlab.models.locking import unlock
from litlab.optim import OPTIMIZERS, add_tower, build_optimizer, build_schedule, param_groups, warmup_cosine
from litlab.registry import UnknownNameError
from tiny_two_tower import tiny_model


def group_of(optimizer: torch.optim.Optimizer) -> dict[int, dict]:
    return {id(p): g for g in optimizer.param_groups for p in g["params"]}


def test_unknown_optimizer_lists_the_valid_names():
    with pytest.raises(ConfigError, match="bad value 'sgd' for 'optim.name'; valid: adamw, adafactor"):
        override(RunConfig(), "optim.name", "sgd")
    with pytest.raises(UnknownNameError, match="unknown optimizer 'adam' .*valid: adafactor, adamw"):
        OPTIMIZERS.get("adam")


def test_config_choices_are_the_registered_optimizers():
    assert sorted(get_args(get_type_hints(Optim)["name"])) == OPTIMIZERS.names()


@pytest.mark.parametrize("key,value", [("optim.accum_steps", 0), ("optim.unlock_image_at", -2),
                                       ("optim.text_lr_mult", -1.0), ("optim.negatives", "local"),
                                       ("optim.objective", "siglip")])
def test_bad_optim_values_fail_with_the_rule(key, value):
    with pytest.raises(ConfigError, match=key.split(".")[1]):
        override(RunConfig(), key, value)


def test_defaults_keep_the_plain_recipe():
    cfg = Optim()
    assert (cfg.name, cfg.image_lr_mult, cfg.text_lr_mult, cfg.unlock_image_at, cfg.unlock_text_at, cfg.negatives,
            cfg.objective, cfg.accum_steps, cfg.bf16) == ("adamw", 1.0, 1.0, 0, 0, "global", "softmax", 1, False)


def test_weight_decay_skips_biases_norms_logit_scale_and_logit_bias():
    model = tiny_model("uu", bias_init=-10.0)  # the sigmoid objective's model
    groups = group_of(build_optimizer(model, Optim(weight_decay=0.1, lr=1e-2)))
    decay = {name: groups[id(p)]["weight_decay"] for name, p in model.named_parameters()}
    assert decay["logit_scale"] == decay["logit_bias"] == 0.0
    assert groups[id(model.logit_bias)]["base_lr"] == pytest.approx(1e-2)  # optim.lr, as the heads
    assert all(decay[n] == 0.0 for n in decay if n.endswith(".bias") or ".norm." in n)
    assert decay["image.norm.weight"] == 0.0  # BatchNorm scale
    assert all(decay[n] == 0.1 for n in ("image.proj.weight", "text.embed.weight", "text_head.weight"))


def test_tower_learning_rate_multipliers_and_schedule():
    cfg = Optim(lr=1e-2, image_lr_mult=0.1, text_lr_mult=2.0, warmup_steps=4, steps=10)
    model = tiny_model("uu")
    optimizer = build_optimizer(model, cfg)
    schedule = build_schedule(optimizer, cfg)
    groups = group_of(optimizer)
    base = {name: groups[id(p)]["base_lr"] for name, p in model.named_parameters()}
    assert base["image.proj.weight"] == pytest.approx(1e-3) and base["image.norm.bias"] == pytest.approx(1e-3)
    assert base["text.embed.weight"] == pytest.approx(2e-2)
    assert base["image_head.weight"] == base["logit_scale"] == pytest.approx(1e-2)  # heads use optim.lr
    schedule.step()
    schedule.step()
    assert groups[id(model.text.proj.weight)]["lr"] == pytest.approx(2e-2 * warmup_cosine(2, cfg))
    assert schedule.lr() == pytest.approx(1e-2 * 3 / 4) and schedule.state_dict() == {"step": 2}


def test_locked_tower_gets_no_group_until_unlocked_at_the_current_factor():
    cfg = Optim(lr=1e-2, image_lr_mult=0.5, warmup_steps=4, steps=10)
    model = tiny_model("Lu")
    optimizer = build_optimizer(model, cfg)
    schedule = build_schedule(optimizer, cfg, step=3)
    assert not set(map(id, model.image.parameters())) & set(group_of(optimizer))
    add_tower(optimizer, schedule, "image", unlock(model, "image"), cfg.image_lr_mult, cfg)
    groups = group_of(optimizer)
    assert all(groups[id(p)]["lr"] == pytest.approx(0.5e-2 * warmup_cosine(3, cfg)) for p in model.image.parameters())
    assert not any(p in optimizer.state for p in model.image.parameters())  # no state before its first step
    schedule.step()
    assert groups[id(model.image.proj.weight)]["lr"] == pytest.approx(0.5e-2 * warmup_cosine(4, cfg))


def test_unlock_turns_on_gradients_and_train_mode():
    model = tiny_model("LL").train()
    assert not model.image.training and not model.image.proj.weight.requires_grad
    params = unlock(model, "image")
    assert model.locked == frozenset({"text"}) and model.image.training and all(p.requires_grad for p in params)
    assert not model.text.training
    with pytest.raises(ValueError, match="cannot unlock the image tower: it is not locked"):
        unlock(model, "image")


@pytest.mark.parametrize("name", ["adamw", "adafactor"])
def test_first_step_moves_a_small_weight_by_about_lr(name):
    """optim.lr means an absolute step for both optimizers (torch's default Adafactor would scale it by RMS(w))."""
    model = tiny_model("uu")
    w = model.image.proj.weight
    w.data.mul_(0.01 / w.data.pow(2).mean().sqrt())  # RMS(w) = 0.01
    optimizer = build_optimizer(model, Optim(name=name, lr=1e-3, weight_decay=0.0))
    before = w.detach().clone()
    w.grad = torch.randn(w.shape, generator=torch.Generator().manual_seed(0))
    optimizer.step()
    rms = (w.detach() - before).pow(2).mean().sqrt().item()
    assert 0.5e-3 < rms < 1.01e-3


def test_adafactor_keeps_a_factored_second_moment():
    model = tiny_model("uu")
    optimizer = build_optimizer(model, Optim(name="adafactor"))
    assert isinstance(optimizer, torch.optim.Adafactor)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    w = model.image.proj.weight  # (8, 48): one row mean and one column mean, not 8 x 48 second moments
    state = optimizer.state[w]
    assert state["row_var"].numel() + state["col_var"].numel() == 8 + 48 and "variance" not in state


def test_the_paper_preset_decays_weights_as_the_papers_big_vision_recipe():
    """big_vision (Appendix D's wd=1e-4): p -= schedule_t x 1e-4 x p per step, no lr. Ours: p -= lr_t x wd x p."""
    import design_grid

    cfg = apply_overrides(RunConfig(), design_grid.PRESETS["paper"].overrides).optim
    weight = torch.nn.Parameter(torch.ones(4, 4, dtype=torch.float64))
    optimizer = OPTIMIZERS.get(cfg.name)(param_groups("w", [weight], cfg.lr, cfg.weight_decay), cfg)
    step = cfg.steps // 2
    build_schedule(optimizer, cfg, step)
    weight.grad = torch.zeros_like(weight)  # Adam's own update is 0: only the decay moves the weight
    optimizer.step()
    assert 1 - weight.detach()[0, 0].item() == pytest.approx(warmup_cosine(step, cfg) * 1e-4, rel=1e-9)


def test_adamw_runs_fused_on_cpu_and_steps_as_the_per_tensor_loop_does(monkeypatch):
    """The fused kernel is the same AdamW (decoupled decay on matrices only, after an unlock too): 5 steps with
    the same gradients end at the same weights, up to float rounding, as torch's per-tensor loop."""
    import litlab.optim

    def trained(fused: bool) -> dict[str, torch.Tensor]:
        monkeypatch.setattr(litlab.optim, "fusable", lambda params: fused)
        model = tiny_model("Lu")
        cfg = Optim(lr=1e-2, weight_decay=0.1, warmup_steps=1, steps=5)
        optimizer = build_optimizer(model, cfg)
        assert optimizer.defaults["fused"] is fused
        schedule = build_schedule(optimizer, cfg)
        gen = torch.Generator().manual_seed(0)
        for step in range(5):
            if step == 2:
                add_tower(optimizer, schedule, "image", unlock(model, "image"), 1.0, cfg)
            for p in model.parameters():
                p.grad = torch.randn(p.shape, generator=gen) if p.requires_grad else None
            optimizer.step()
            schedule.step()
        return {n: p.detach().clone() for n, p in model.named_parameters()}

    fused, loop = trained(True), trained(False)
    for name, weight in loop.items():
        torch.testing.assert_close(fused[name], weight, rtol=1e-5, atol=1e-6, msg=name)


def test_adamw_is_fused_only_for_float_tensors_on_cpu_or_cuda():
    from litlab.optim import fusable

    assert fusable([torch.zeros(2), torch.zeros(3, 3)])
    assert not fusable([]) and not fusable([torch.zeros(2, dtype=torch.int64)])
    assert not fusable([torch.zeros(2, device="meta")])
