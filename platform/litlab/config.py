"""Typed, frozen run configuration with one override mechanism and errors that list the valid choices.

Every entry point (CLI ``--set``, presets, the design grid) changes a config only through
``override(cfg, "optim.lr", 3e-4)``; raw dicts become a ``RunConfig`` through ``from_dict`` at the Ray boundary.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from litlab.tokenizers import DEFAULT_MAX_LEN, check_tokenizer

Letter = Literal["L", "U", "u"]
SETUP_LETTERS: tuple[str, ...] = get_args(Letter)
LETTER_MEANING = {"L": "pretrained + locked", "U": "pretrained + unlocked", "u": "random init + unlocked"}


class ConfigError(ValueError):
    """A bad config key or value; the message names it and lists the valid choices."""


def default_data_root() -> str:
    """Where shards live unless ``data.root`` says otherwise: $LITLAB_DATA_ROOT or ~/.cache/litlab/data."""
    return os.environ.get("LITLAB_DATA_ROOT", str(Path.home() / ".cache" / "litlab" / "data"))


@dataclass(frozen=True)
class ImageTower:
    arch: str = "efficientnet_lite0"  # a zoo name (litlab.zoo) or any timm model name
    size: int = 224  # input resolution, square
    head: bool = False  # linear head on top; the paper's Lu has none (Appendix C)


@dataclass(frozen=True)
class TextTower:
    arch: str = "transformer_tiny"  # a text-tower name (litlab.models.text_towers)
    tokenizer: str = "wordpiece_minilm"  # a tokenizer name (litlab.tokenizers) or file:/abs/path/tokenizer.json
    max_len: int = DEFAULT_MAX_LEN  # tokens per caption, start and end tokens included: 16 as in the paper
    head: bool = True  # linear head projecting to the shared embedding size

    def __post_init__(self) -> None:
        if self.max_len < 2:
            raise ConfigError(f"text.max_len must be >= 2 (the start and end tokens; the paper uses "
                              f"{DEFAULT_MAX_LEN}), got {self.max_len}")
        try:
            check_tokenizer(self.tokenizer)  # a known name, or a file: that exists (valid choices in the error)
        except (KeyError, ValueError, OSError) as err:
            raise ConfigError(str(err)) from None


@dataclass(frozen=True)
class Data:
    root: str = field(default_factory=default_data_root)  # local folder or s3:// prefix holding the splits
    train: str = "train"  # split folder under root with parquet shards (litlab.data.layout: the kinds it reads)
    image_column: str = ""  # column of image bytes ("" = jpg: litlab shards and img2dataset parquet output)
    caption_column: str = ""  # column of captions ("" = txt, else caption: img2dataset's)
    batch_size: int = 64  # global batch (all workers together)
    crop_area_min: float = 1.0  # inception crop minimum area; 1.0 = plain resize (deterministic)
    # drop tuning images that duplicate evaluation images (paper Table 5; litlab.data.dedup): none, the eval
    # sets' test images, or their train splits too; trains on a filtered copy <train>-dedup-... under root
    dedup: Literal["none", "test", "train+test"] = "none"
    dedup_method: Literal["exact", "phash", "embedding"] = "phash"  # pixel sha1 / DCT hash / tower cosine
    dedup_threshold: float = 0.0  # phash: max differing bits (default 2), embedding: min cosine (0.98); 0 = default


@dataclass(frozen=True)
class Optim:
    """Optimisation (litlab.optim, litlab.loop). Paper: Appendix D recipe, F global vs local loss, H schedules."""

    steps: int = 1000  # optimizer steps
    name: Literal["adamw", "adafactor"] = "adamw"  # litlab.optim.OPTIMIZERS; adafactor: factored 2nd moment
    lr: float = 1e-3
    weight_decay: float = 1e-4  # decoupled (p -= lr_t * wd * p); matrices only: never biases, norms, logit_scale
    warmup_steps: int = 100  # linear warm-up, then cosine decay to 0 at `steps`
    clip_norm: float = 1.0  # global gradient norm
    temperature_init: float = 10.0  # initial logit scale, stored in log space
    image_lr_mult: float = 1.0  # image tower lr = lr * image_lr_mult (heads and logit_scale use lr)
    text_lr_mult: float = 1.0  # text tower lr = lr * text_lr_mult
    unlock_image_at: int = 0  # delayed unlock: a locked (L) image tower trains from this step on; 0 or -1 = never
    unlock_text_at: int = 0  # the same for a locked (L) text tower
    loss: Literal["global", "local"] = "global"  # negatives from all workers' batches, or each worker's own (App. F)
    accum_steps: int = 1  # micro-batches per optimizer step; contrastive negatives come from one micro-batch
    bf16: bool = False  # bfloat16 autocast of the towers on CUDA; ignored (with a warning) on CPU

    def __post_init__(self) -> None:
        if self.accum_steps < 1:
            raise ConfigError(f"optim.accum_steps must be >= 1 (micro-batches per step), got {self.accum_steps}")
        for key in ("unlock_image_at", "unlock_text_at"):
            if getattr(self, key) < -1:
                raise ConfigError(f"optim.{key} must be a step >= 1, or 0 / -1 for never; got {getattr(self, key)}")
        for key in ("image_lr_mult", "text_lr_mult"):
            if getattr(self, key) < 0:
                raise ConfigError(f"optim.{key} must be >= 0, got {getattr(self, key)}")


@dataclass(frozen=True)
class Eval:
    # <evaluator>/<set>[+<set>][@root] (litlab.evaluators.suite); on the CLI a comma-separated list
    evals: tuple[str, ...] = ("zeroshot/fmnist-test",)
    every: int = 0  # also evaluate every N training steps (0 = only at the end)
    templates: str = "simple"  # prompt template set for zero-shot (litlab.evaluators.prompts)
    max_images: int = 2000  # per evaluation set; 0 = all
    batch_size: int = 256
    cache_dir: str = ""  # where frozen-image-side embeddings persist across runs ("" = in memory, per run)


@dataclass(frozen=True)
class Train:
    # Ray Train workers per run; 0 = sized from the cluster when the run starts (litlab.sizing.auto_train sets
    # workers, cpus_per_worker, gpus_per_worker and torch_threads); any other value keeps the four as given
    workers: int = 0
    cpus_per_worker: float = 0.5  # fractional so Ray Data and two trials fit on a 2-core machine
    gpus_per_worker: float = 0.0
    seed: int = 0
    log_every: int = 10
    torch_threads: int = 1  # per worker process; keeps 2 workers from oversubscribing 2 cores
    checkpoint_every: int = 0  # resumable checkpoint (model, optimizer, schedule, step) every N steps; 0 = final only
    max_failures: int = 2  # worker-group restarts from the last checkpoint before the run fails
    precompute: bool = False  # train a locked image tower from embeddings computed once (litlab.models.precomputed)

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ConfigError(f"train.workers must be >= 1, or 0 to size it from the cluster; got {self.workers}")
        if self.workers and self.cpus_per_worker <= 0 and self.gpus_per_worker <= 0:
            raise ConfigError("train.cpus_per_worker and train.gpus_per_worker are both 0: a worker needs a CPU "
                              "share or a GPU")


@dataclass(frozen=True)
class RunConfig:
    setup: str = "Lu"  # image tower letter then text tower letter: L / U / u
    image: ImageTower = field(default_factory=ImageTower)
    text: TextTower = field(default_factory=TextTower)
    data: Data = field(default_factory=Data)
    optim: Optim = field(default_factory=Optim)
    eval: Eval = field(default_factory=Eval)
    train: Train = field(default_factory=Train)

    def __post_init__(self) -> None:
        validate_setup(self.setup)

    @property
    def image_letter(self) -> str:
        return self.setup[0]

    @property
    def text_letter(self) -> str:
        return self.setup[1]


def validate_setup(setup: str) -> None:
    if not isinstance(setup, str) or len(setup) != 2 or any(c not in SETUP_LETTERS for c in setup):
        meanings = "; ".join(f"{k} = {v}" for k, v in LETTER_MEANING.items())
        raise ConfigError(
            f"unknown setup {setup!r}: two letters, image tower then text tower, each one of "
            f"{', '.join(SETUP_LETTERS)} ({meanings}); e.g. 'Lu' is LiT"
        )


def keys(cfg: Any = RunConfig, prefix: str = "") -> list[str]:
    """All dotted leaf keys of a config class or instance, e.g. ['setup', 'image.arch', ...]."""
    out: list[str] = []
    for f in fields(cfg):
        hint = _hints(cfg)[f.name]
        if is_dataclass(hint):
            out += keys(hint, f"{prefix}{f.name}.")
        else:
            out.append(f"{prefix}{f.name}")
    return out


def override(cfg: Any, key: str, value: Any, _prefix: str = "") -> Any:
    """Return a copy of ``cfg`` with the dotted ``key`` set to ``value`` (strings are parsed to the field's type)."""
    full = _prefix + key
    head, _, rest = key.partition(".")
    if head not in [f.name for f in fields(cfg)]:
        _unknown_key(full, cfg, _prefix)
    hint = _hints(type(cfg))[head]
    if is_dataclass(hint):
        if not rest:
            raise ConfigError(f"config key {full!r} is a section; set one of: {', '.join(keys(hint, full + '.'))}")
        return replace(cfg, **{head: override(getattr(cfg, head), rest, value, f"{_prefix}{head}.")})
    if rest:
        _unknown_key(full, cfg, _prefix)
    return replace(cfg, **{head: _coerce(full, value, hint)})


def apply_overrides(cfg: RunConfig, overrides: dict[str, Any] | list[tuple[str, Any]]) -> RunConfig:
    items = overrides.items() if isinstance(overrides, dict) else overrides
    for k, v in items:
        cfg = override(cfg, k, v)
    return cfg


def parse_set(arg: str) -> tuple[str, str]:
    """Parse one CLI ``--set key=value``."""
    key, sep, value = arg.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value, got {arg!r}; keys: {', '.join(keys())}")
    return key.strip(), value.strip()


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(d: dict[str, Any]) -> RunConfig:
    """Rebuild a RunConfig from ``to_dict`` output; unknown keys fail with the list of valid ones."""
    return apply_overrides(RunConfig(), to_params(d))


def to_params(cfg: Any) -> dict[str, Any]:
    """Flat {'optim.lr': 0.001, ...}: MLflow params and the grid's cell ids use this form."""
    d = cfg if isinstance(cfg, dict) else to_dict(cfg)
    flat: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            flat.update({f"{k}.{kk}": vv for kk, vv in to_params(v).items()})
        else:
            flat[k] = v
    return flat


def config_hash(cfg: RunConfig) -> str:
    """Stable short hash of the resolved config (sorted JSON), recorded as a tag on every run."""
    blob = json.dumps(to_params(cfg), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _hints(cls: Any) -> dict[str, Any]:
    return get_type_hints(cls if isinstance(cls, type) else type(cls))


def _unknown_key(key: str, cfg: Any, prefix: str) -> None:
    valid = keys(cfg, prefix)
    close = difflib.get_close_matches(key, keys(RunConfig), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown config key {key!r}{hint}; valid keys: {', '.join(valid)}")


def _coerce(key: str, value: Any, hint: Any) -> Any:
    if get_origin(hint) is Literal:
        if value not in get_args(hint):
            raise ConfigError(f"bad value {value!r} for {key!r}; valid: {', '.join(map(str, get_args(hint)))}")
        return value
    if get_origin(hint) is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"bad value {value!r} for {key!r}: expected a comma-separated list")
        return tuple(_coerce(key, item.strip() if isinstance(item, str) else item, get_args(hint)[0])
                     for item in items if not (isinstance(item, str) and not item.strip()))
    try:
        if hint is bool:
            return _to_bool(value)
        if hint in (int, float) and isinstance(value, str):
            return hint(float(value)) if hint is int and "e" in value.lower() else hint(value)
        if hint is int and isinstance(value, float):
            if not value.is_integer():
                raise ValueError(value)
            return int(value)
        if hint in (int, float, str):
            return hint(value)
    except (TypeError, ValueError):
        raise ConfigError(f"bad value {value!r} for {key!r}: expected {hint.__name__}") from None
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)
