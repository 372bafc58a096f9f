"""Peer ratio: one Lu and one Uu optimizer step of litlab against open_clip's training step, side by side.

Run:
    python experiments/benchmarks/peer.py                # 224 px, batch 64, 5 repeats: ~4 min on a 2-core CPU
    python experiments/benchmarks/peer.py --quick        # 64 px, batch 16, 3 repeats: a smoke run, ~40 s

One process, one machine, the same --threads for every side, the same batch of demo-shard pairs (`make data`):
the same images and the same token ids (litlab's WordPiece, 16 tokens). Five sides, each built once and kept
(weights and optimizer state persist across repeats), stepped in turn A B C D E, E D C B A, ... after warm-up:
  litlab Lu        build_model(setup="Lu") + contrastive_loss + build_optimizer/build_schedule, stepped the way
                   litlab.loop steps (seed, zero_grad, accumulate, clip_grad_norm, step, schedule)
  litlab Lu cache  the same with train.precompute: the locked tower's (B, F) features computed once beforehand
                   (litlab.models.precomputed); building them is a one-time cost outside the timing
  open_clip Lu     open_clip.model.CLIP with the same timm tower (tf_efficientnet_lite0, no image projection,
                   litlab's weights copied in) and a text transformer of litlab's transformer_* size, context 16,
                   locked with lock_image_tower(); its ClipLoss; torch AdamW with its decay / no-decay groups;
                   backward, clip_grad_norm_, step, logit_scale clamp (its training script's step, fp32)
  litlab Uu, open_clip Uu   the same two without locking (image tower pretrained and trained)
Prints parameter counts (must be equal), a check that both losses give the same value on the same embeddings,
per side the median and min-max steps/s and pairs/s over the repeats, and the litlab/open_clip ratios paired
per repeat. Goals at 224 px: litlab >= 1.0x without the cache, >= 3x with it.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from figures import report as figure
from litlab.config import RunConfig, apply_overrides, default_data_root
from litlab.data.shards import iter_rows
from litlab.data.transforms import preprocess_batch
from litlab.loop import accumulate, step_seed
from litlab.losses import contrastive_loss
from litlab.models.build import build_model
from litlab.models.text.vit import VIT_TEXT_SIZES
from litlab.optim import build_optimizer, build_schedule
from litlab.tokenizers import get_tokenizer
from open_clip.loss import ClipLoss
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
from torch import nn

Batch = dict[str, torch.Tensor]
OPEN_CLIP_LOGIT_MAX = math.log(100)  # open_clip clamps the learnable log temperature to [0, ln 100] after each step


@dataclass(frozen=True)
class Side:
    name: str
    model: nn.Module
    step: Callable[[], None]


def demo_batch(root: str, cfg: RunConfig, batch: int) -> Batch:
    """The first `batch` demo training pairs: image (B, H, W, 3) uint8, ids and mask (B, 16)."""
    rows = [r for r, _ in zip(iter_rows(f"{root}/train", columns=["jpg", "txt"]), range(batch), strict=False)]
    if len(rows) < batch:
        raise SystemExit(f"only {len(rows)} training rows under {root}/train; run `make data` first")
    out = preprocess_batch({"jpg": [r["jpg"] for r in rows], "txt": [r["txt"] for r in rows]},
                           size=cfg.image.size, tokenizer=cfg.text.tokenizer, max_len=cfg.text.max_len)
    return {k: torch.from_numpy(v) for k, v in out.items()}


def litlab_side(name: str, cfg: RunConfig, batch: Batch, features: int | None = None) -> Side:
    """litlab's model, loss and optimizer, one step exactly as litlab.loop.train takes it (one process)."""
    model = build_model(cfg, image_features=features).train()
    optim = cfg.optim
    optimizer = build_optimizer(model, optim)
    schedule = build_schedule(optimizer, optim)
    params = [p for g in optimizer.param_groups for p in g["params"]]
    counter = iter(range(10**9))

    def loss_fn(micro: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        zimg, ztxt, logit_scale, _ = model(micro["image"], micro["ids"], micro["mask"])  # (B, D) x2, (), bias
        return contrastive_loss(zimg.float(), ztxt.float(), logit_scale.float()), logit_scale

    def step() -> None:
        torch.manual_seed(step_seed(cfg.train.seed, 0, next(counter)))
        optimizer.zero_grad(set_to_none=True)
        accumulate(model, batch, optim.accum_steps, loss_fn)
        torch.nn.utils.clip_grad_norm_(params, optim.clip_norm)
        optimizer.step()
        schedule.step()

    return Side(name, model, step)


def open_clip_model(cfg: RunConfig, litlab_model: nn.Module) -> CLIP:
    """open_clip's CLIP with litlab's timm image tower (weights copied) and a text transformer of the same size."""
    size = VIT_TEXT_SIZES[cfg.text.arch.removeprefix("transformer_")]
    tok = get_tokenizer(cfg.text.tokenizer, cfg.text.max_len)
    image = litlab_model.image
    vision = CLIPVisionCfg(timm_model_name=image.backbone.default_cfg["architecture"], timm_model_pretrained=False,
                           timm_pool="avg", timm_proj="none", image_size=cfg.image.size)  # no projection: Lu has none
    text = CLIPTextCfg(context_length=cfg.text.max_len, vocab_size=tok.vocab_size, width=size.width,
                       heads=size.heads, layers=size.layers, mlp_ratio=size.mlp / size.width, pad_id=tok.pad_id,
                       eos_id=tok.end_id, pool_type="eos", proj_bias=True)  # litlab's text head has a bias
    model = CLIP(embed_dim=image.feature_dim, vision_cfg=vision, text_cfg=text,
                 init_logit_scale=math.log(cfg.optim.temperature_init))
    model.visual.trunk.load_state_dict(image.backbone.state_dict())
    return model


def open_clip_side(name: str, cfg: RunConfig, litlab_model: nn.Module, batch: Batch, lock: bool,
                   locked_bn: str = "train") -> Side:
    model = open_clip_model(cfg, litlab_model)
    if lock:
        model.lock_image_tower()  # open_clip's default (freeze_bn_stats=False); see the README on why not True
    model.train()
    if lock and locked_bn == "eval":
        model.visual.eval()  # litlab's locked tower: BatchNorm from running statistics (not open_clip's default)
    mean, std = litlab_model.image.mean, litlab_model.image.std  # (1, 3, 1, 1): its data loader normalises
    images = (batch["image"].permute(0, 3, 1, 2).float() / 255.0 - mean) / std  # (B, 3, H, W)
    ids = batch["ids"]
    loss = ClipLoss()
    exclude = [p for n, p in model.named_parameters() if p.requires_grad and (
        p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n)]
    skip = {id(p) for p in exclude}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in skip]
    optimizer = torch.optim.AdamW([{"params": exclude, "weight_decay": 0.0},
                                   {"params": rest, "weight_decay": cfg.optim.weight_decay}],
                                  lr=cfg.optim.lr, betas=(0.9, 0.98), eps=1e-6)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        zimg, ztxt, logit_scale = model(images, ids)  # (B, D), (B, D), ()
        loss(zimg, ztxt, logit_scale).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.clip_norm)
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, OPEN_CLIP_LOGIT_MAX)

    return Side(name, model, step)


def count(model: nn.Module, trainable: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


def check_models(lit: dict[str, Side], oc: dict[str, Side], batch: Batch) -> None:
    """Equal parameter counts; the same image features from both towers (eval mode); the same loss value."""
    for setup in ("Lu", "Uu"):
        a, b = lit[setup].model, oc[setup].model
        print(f"{setup}: parameters litlab {count(a):,} (trainable {count(a, True):,})   "
              f"open_clip {count(b):,} (trainable {count(b, True):,})")
        if (count(a), count(a, True)) != (count(b), count(b, True)):
            raise SystemExit(f"{setup}: the two models differ in size; the comparison would not be fair")
    cached = lit["Lu cache"].model
    print(f"Lu cache: trainable parameters {count(cached, True):,} (the image tower is not loaded)")
    a, b = lit["Lu"].model.image, oc["Lu"].model.visual
    modes = {m: m.training for tower in (a, b) for m in tower.modules()}  # as each side trains (--locked-bn)
    with torch.no_grad():
        images = (batch["image"][:4].permute(0, 3, 1, 2).float() / 255.0 - a.mean) / a.std
        diff = (a.eval()(batch["image"][:4]) - b.eval()(images)).abs().max().item()
    for module, training in modes.items():
        module.training = training
    print(f"image features, litlab tower vs open_clip's (eval mode, same weights): max |diff| {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit("the two image towers compute different features")
    g = torch.Generator().manual_seed(0)
    zimg, ztxt = (nn.functional.normalize(torch.randn(8, 32, generator=g), dim=-1) for _ in range(2))
    scale = torch.tensor(10.0)
    ours, theirs = contrastive_loss(zimg, ztxt, scale).item(), ClipLoss()(zimg, ztxt, scale).item()
    learnable = all(s.model.logit_scale.requires_grad for s in (*lit.values(), *oc.values()))
    print(f"loss on the same embeddings: litlab {ours:.6f}  open_clip ClipLoss {theirs:.6f} (softmax contrastive, "
          f"both directions); learnable temperature on every side: {learnable}")
    if abs(ours - theirs) > 1e-5 or not learnable:
        raise SystemExit("the two sides do not compute the same loss")


def timed(sides: list[Side], warmup: int, repeats: int, steps: int, min_seconds: float) -> dict[str, list[float]]:
    """steps/s of each side per repeat: at least `steps` steps and `min_seconds` seconds (fast sides take more
    steps, so a scheduler hiccup weighs less). Sides alternate, in reverse order every other repeat, so no side
    always follows the same one."""
    for side in sides:
        for _ in range(warmup):
            side.step()
    rates: dict[str, list[float]] = {s.name: [] for s in sides}
    for r in range(repeats):
        for side in sides if r % 2 == 0 else sides[::-1]:
            n, tic = 0, time.perf_counter()
            while n < steps or time.perf_counter() - tic < min_seconds:
                side.step()
                n += 1
            rates[side.name].append(n / (time.perf_counter() - tic))
        print(f"repeat {r + 1}/{repeats} steps/s: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in rates.items()),
              flush=True)
    return rates


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):9.3f} [{min(values):.3f}-{max(values):.3f}]"


def report(rates: dict[str, list[float]], batch: int, size: int) -> None:
    print(f"\n{'side':16s} {'steps/s median [min-max]':>30s} {'pairs/s median [min-max]':>30s}")
    for name, values in rates.items():
        print(f"{name:16s} {spread(values):>30s} {spread([v * batch for v in values]):>30s}")
    print(f"\nlitlab / open_clip, paired per repeat (median [min-max]), {len(next(iter(rates.values())))} repeats:")
    for ours, theirs, goal in (("litlab Lu", "open_clip Lu", 1.0), ("litlab Lu cache", "open_clip Lu", 3.0),
                               ("litlab Uu", "open_clip Uu", None)):
        ratios = [a / b for a, b in zip(rates[ours], rates[theirs], strict=True)]
        target = f"  (goal at 224 px: >= {goal:.1f}x)" if goal else ""
        at = "" if size == 224 else f" at {size} px"
        print(f"  {ours:16s} vs {theirs:13s} {statistics.median(ratios):6.2f}x "
              f"[{min(ratios):.2f}-{max(ratios):.2f}]{at}{target}")
        figure(f"{ours} / {theirs}{at}", ratios, goal=f">= {goal}" if goal and size == 224 else "", unit="x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=default_data_root())
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=2, help="optimizer steps per side per repeat, at least")
    p.add_argument("--min-seconds", type=float, default=2.0, help="a side's timing lasts at least this long")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per side before the repeats")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--text-arch", default="transformer_tiny", choices=[f"transformer_{s}" for s in VIT_TEXT_SIZES])
    p.add_argument("--locked-bn", choices=["train", "eval"], default="train",
                   help="BatchNorm mode of open_clip's locked tower: train (open_clip's default: batch statistics, "
                        "running averages updated) or eval (what litlab's locked tower does)")
    p.add_argument("--quick", action="store_true", help="64 px, batch 16, 3 repeats of 1 step or 0.5 s, 1 warm-up step")
    args = p.parse_args()
    if args.quick:
        args.size, args.batch, args.repeats, args.steps, args.warmup, args.min_seconds = 64, 16, 3, 1, 1, 0.5
    torch.set_num_threads(args.threads)
    cfg = apply_overrides(RunConfig(), {"image.arch": "efficientnet_lite0", "image.size": args.size,
                                        "text.arch": args.text_arch})
    cfg = apply_overrides(cfg, {"optim.steps": 10**6, "optim.warmup_steps": 1})  # lr > 0 at every step
    batch = demo_batch(args.root, cfg, args.batch)
    print(f"efficientnet_lite0 (timm tf_efficientnet_lite0) @ {args.size} px + {args.text_arch} "
          f"(ViT-style text transformer, context {cfg.text.max_len}); batch {args.batch}; "
          f"{torch.get_num_threads()} threads; float32, one process; open_clip's locked BatchNorm: {args.locked_bn}")
    lu, uu = (apply_overrides(cfg, {"setup": s}) for s in ("Lu", "Uu"))
    lit = {"Lu": litlab_side("litlab Lu", lu, batch), "Uu": litlab_side("litlab Uu", uu, batch)}
    with torch.no_grad():
        feats = lit["Lu"].model.image.eval()(batch["image"])  # (B, F): what train.precompute caches
    lit["Lu cache"] = litlab_side("litlab Lu cache", lu, {**batch, "image": feats}, features=feats.shape[1])
    oc = {"Lu": open_clip_side("open_clip Lu", lu, lit["Lu"].model, batch, lock=True, locked_bn=args.locked_bn),
          "Uu": open_clip_side("open_clip Uu", uu, lit["Uu"].model, batch, lock=False)}
    check_models(lit, oc, batch)
    order = [lit["Lu"], oc["Lu"], lit["Lu cache"], lit["Uu"], oc["Uu"]]
    rates = timed(order, args.warmup, args.repeats, args.steps, args.min_seconds)
    report(rates, args.batch, args.size)


if __name__ == "__main__":
    main()
