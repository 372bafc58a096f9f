"""Typed, frozen run configuration with one override mechanism and errors that list the valid choices.

Every value a person gives (CLI ``--set``, presets, the grid's studies) goes through ``override(cfg, "optim.lr",
3e-4)``, which parses strings and names the valid choices; raw dicts become a ``RunConfig`` through ``from_dict``
at the Ray boundary. Code computing typed values (``litlab.sizing.auto_train``'s ``train.*``) uses
``dataclasses.replace``; each section validates itself in ``__post_init__`` either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from litlab.registry import did_you_mean
from litlab.tokenizers import DEFAULT_MAX_LEN, check_tokenizer

Letter = Literal["L", "U", "u"]
SETUP_LETTERS: tuple[str, ...] = get_args(Letter)
LETTER_MEANING = {"L": "pretrained + locked", "U": "pretrained + unlocked", "u": "random init + unlocked"}
Objective = Literal["softmax", "sigmoid"]  # optim.objective
Negatives = Literal["global", "worker"]  # optim.negatives
Protocol = Literal["transfer", "in-distribution"]  # eval.protocol
RENAMED = {"optim.loss": "optim.negatives (global | worker; what was 'local' is 'worker')"}  # old key -> new
FIGURE3_SETTINGS: tuple[str, ...] = ("LU", "Lu", "UU", "Uu", "uu", "UL", "uL")  # the paper's seven, in its order


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
    """Optimisation (litlab.optim, litlab.loop). Paper: Appendix D recipe, F negatives, H schedules."""

    steps: int = 1000  # optimizer steps
    name: Literal["adamw", "adafactor"] = "adamw"  # litlab.optim.OPTIMIZERS; adafactor: factored 2nd moment
    lr: float = 1e-3
    # torch's decoupled form, p -= lr_t * wd * p, on matrices only; the paper's 1e-4 is big_vision's (schedule x wd,
    # no lr), which is 0.1 here (litlab.optim)
    weight_decay: float = 1e-4
    warmup_steps: int = 100  # linear warm-up, then cosine decay to 0 at `steps`
    clip_norm: float = 1.0  # global gradient norm
    temperature_init: float = 10.0  # initial logit scale t = exp(t'), learnt as t'; LiT (App. D), SigLIP: 10
    image_lr_mult: float = 1.0  # image tower lr = lr * image_lr_mult (heads, logit scale and bias use lr)
    text_lr_mult: float = 1.0  # text tower lr = lr * text_lr_mult
    unlock_image_at: int = 0  # delayed unlock: a locked (L) image tower trains from this step on; 0 or -1 = never
    unlock_text_at: int = 0  # the same for a locked (L) text tower
    # The loss over a batch's image-text pairs (litlab.losses, litlab.losses_sigmoid):
    #   softmax  CLIP/LiT's contrastive cross-entropy: each image against every text and each text against every
    #            image, the matching pair as the class (normalised over the batch)
    #   sigmoid  SigLIP's (Zhai et al. 2023): every pair a binary problem, +1 matching / -1 not, on t * cos + b with
    #            a learnable bias b; no normalisation over the batch
    objective: Objective = "softmax"
    sigmoid_bias_init: float = -10.0  # the sigmoid objective's initial bias b (SigLIP: -10); unused by softmax
    # Which pairs a worker's loss scores, with W workers of B rows each (paper Appendix F):
    #   global  its B images against all W*B texts (and, softmax, its B texts against all W*B images): W workers
    #           give exactly the loss and gradients of one process on the whole batch. open_clip's --local-loss is
    #           this (local rows, global columns); without it open_clip scores all W*B rows on every worker.
    #   worker  its own B pairs only: W single-process losses on B rows each, averaged; W times fewer negatives.
    #           No open_clip flag does this (its --local-loss still uses every worker's negatives).
    negatives: Negatives = "global"
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
    # What the evaluations measure, recorded on every run as its `protocol` tag: transfer to data the tuning split
    # never showed (the paper's zero-shot), or the tuning distribution itself (unlocked towers are expected to fit
    # it). Set by the preset; `python -m litlab.data.coverage` shows what the split and the evaluations share.
    protocol: Protocol = "transfer"


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
    hint = f" (renamed: it is now {RENAMED[key]})" if key in RENAMED else did_you_mean(key, keys(RunConfig))
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
