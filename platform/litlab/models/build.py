"""Build a RunConfig's model, and check its names before any cluster work starts."""

from __future__ import annotations

import torch

from litlab.config import ConfigError, RunConfig
from litlab.models.image_towers import build_image_tower, check_image_arch
from litlab.models.locking import apply_setup
from litlab.models.precomputed import PrecomputedImageTower
from litlab.models.text_towers import PRETRAINED_TOKENIZERS, TEXT_TOWERS, build_text_tower, pretrained_text_towers
from litlab.models.two_tower import TwoTower
from litlab.registry import UnknownNameError
from litlab.tokenizers import TOKENIZERS, get_tokenizer


def check_names(cfg: RunConfig) -> None:
    """Fail fast, with the valid choices, on an unknown tower, tokenizer, or a letter a tower cannot take."""
    try:
        check_image_arch(cfg.image.arch)
        TEXT_TOWERS.get(cfg.text.arch)
        TOKENIZERS.get(cfg.text.tokenizer)
    except (ValueError, UnknownNameError) as err:
        raise ConfigError(str(err)) from None
    if cfg.text_letter in "LU" and cfg.text.arch not in pretrained_text_towers():
        raise ConfigError(
            f"setup {cfg.setup!r} wants a pretrained text tower but text.arch={cfg.text.arch!r} has no weights; "
            f"use one of {', '.join(pretrained_text_towers())} or text letter 'u'"
        )
    wanted = PRETRAINED_TOKENIZERS.get(cfg.text.arch)
    if cfg.text_letter in "LU" and wanted and cfg.text.tokenizer != wanted:
        raise ConfigError(f"setup {cfg.setup!r} loads {cfg.text.arch!r}'s pretrained embeddings, which index the "
                          f"{wanted!r} vocabulary; text.tokenizer={cfg.text.tokenizer!r} would feed them other ids "
                          f"(set text.tokenizer={wanted} or text letter 'u')")


def build_model(cfg: RunConfig, image_features: int | None = None) -> TwoTower:
    """Towers built pretrained for L/U and randomly initialised for u (seeded by train.seed), then locked.

    ``image_features`` = F: the image tower is not built; batches carry its precomputed (B, F) features."""
    check_names(cfg)
    torch.manual_seed(cfg.train.seed)
    tokenizer = get_tokenizer(cfg.text.tokenizer, cfg.text.max_len)
    if image_features is not None:
        image = PrecomputedImageTower(image_features, cfg.image.arch)
    else:
        image = build_image_tower(cfg.image.arch, pretrained=cfg.image_letter in "LU")
    text = build_text_tower(cfg.text.arch, cfg.text_letter in "LU", tokenizer.vocab_size, cfg.text.max_len)
    model = TwoTower(image, text, image_head=cfg.image.head, text_head=cfg.text.head,
                     temperature_init=cfg.optim.temperature_init, bias_init=bias_init(cfg))
    return apply_setup(model, cfg.setup)


def bias_init(cfg: RunConfig) -> float | None:
    """The initial logit bias of the objective: the sigmoid one's b, none for softmax."""
    return cfg.optim.sigmoid_bias_init if cfg.optim.objective == "sigmoid" else None
