"""What a demo split is made of: its recipe (shard sources, their options, the held-out selection, a version).

A split's recipe is written into its ``_stats.json`` when it is built; the build compares it with the recipe it
would use now and rebuilds a split built by any other one (shards are derived data), saying why. The recipe
holds every option of every source as the source resolves it (``dataclasses.asdict`` of the source), so a
changed default is a changed recipe too; ``RECIPE_VERSION`` covers changes in code that no option shows.

The demo splits (``demo_recipes``):
  train          Noto emoji minus the held-out ones + Open Clip Art: the transfer protocol's tuning corpus
  train-fmnist   Noto emoji minus the held-out ones + Fashion-MNIST train: the in-distribution protocol's
  emoji-heldout  the held-out Noto emoji (``litlab.data.heldout``)
  fmnist-test    Fashion-MNIST test images, a class-balanced subset
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from litlab.data.heldout import HELDOUT_FRACTION, is_heldout
from litlab.data.sources import Source, make_source

RECIPE_VERSION = 2  # 1 was the untracked Fashion-MNIST demo; bump when the build's code changes what it yields
OPENCLIPART_MAX_SIDE = 256  # enough for training at up to 224 px, with room for a crop; 44 MB for 4711 drawings
Heldout = Literal["all", "exclude", "only"]  # which emoji a noto-emoji part keeps


@dataclass(frozen=True)
class Part:
    """One shard source of a split; ``heldout`` (noto-emoji only) keeps all emoji, the rest, or the held-out."""

    source: str
    options: dict[str, Any] = field(default_factory=dict)
    heldout: Heldout = "all"

    def make(self) -> Source:
        return make_source(self.source, self.options)

    def items(self) -> list[Any]:
        """The source's work items after the held-out selection."""
        items = list(self.make().items())
        if self.heldout == "all":
            return items
        if self.source != "noto-emoji":
            raise ValueError(f"part {self.source!r}: heldout={self.heldout!r} applies to noto-emoji only")
        keep = self.heldout == "only"
        return [item for item in items if is_heldout(item.key) == keep]

    def as_json(self) -> dict[str, Any]:
        resolved = dataclasses.asdict(self.make())  # every option, defaults included
        out: dict[str, Any] = {"source": self.source, "options": resolved}
        if self.heldout != "all":
            out |= {"heldout": self.heldout, "heldout_fraction": HELDOUT_FRACTION}
        return out


@dataclass(frozen=True)
class Recipe:
    parts: tuple[Part, ...]

    def as_json(self) -> dict[str, Any]:
        """The recipe as plain JSON values (what ``_stats.json`` stores and is compared with)."""
        return json.loads(json.dumps({"version": RECIPE_VERSION, "parts": [p.as_json() for p in self.parts]}))

    def summary(self) -> str:
        return describe(self.as_json())


def describe(recipe: dict[str, Any]) -> str:
    """One line for progress messages: ``v2: noto-emoji (exclude held-out) + openclipart``."""
    if not recipe:
        return "no recipe recorded"
    parts = [p.get("source", "?") + (f" ({p['heldout']} held-out)" if p.get("heldout") else "")
             for p in recipe.get("parts", [])]
    return f"v{recipe.get('version', '?')}: {' + '.join(parts) or 'no parts'}"


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two recipes, as short ``key: old -> new`` lines (empty when equal)."""
    if old == new:
        return []
    if not old:
        return ["no recipe recorded (built before recipes, or by another tool)"]
    out = [f"version: {old.get('version')} -> {new.get('version')}"] if old.get("version") != new.get("version") else []
    olds, news = old.get("parts", []), new.get("parts", [])
    if [p.get("source") for p in olds] != [p.get("source") for p in news]:
        return [*out, f"sources: {describe(old)} -> {describe(new)}"]
    for a, b in zip(olds, news, strict=True):
        keys = sorted(set(a.get("options", {})) | set(b.get("options", {})))
        out += [f"{a['source']}.{k}: {a.get('options', {}).get(k)!r} -> {b.get('options', {}).get(k)!r}"
                for k in keys if a.get("options", {}).get(k) != b.get("options", {}).get(k)]
        out += [f"{a['source']}.{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in ("heldout", "heldout_fraction")
                if a.get(k) != b.get(k)]
    return out


def demo_recipes(*, fmnist_train: int = 10000, fmnist_test: int = 2000, emoji_limit: int = 0,
                 openclipart_limit: int = 0) -> dict[str, Recipe]:
    """The demo splits' recipes (limits 0 = all); the order is the build order."""
    emoji = {"limit": emoji_limit}
    clipart = {"limit": openclipart_limit, "max_side": OPENCLIPART_MAX_SIDE}
    return {
        "train": Recipe((Part("noto-emoji", emoji, "exclude"), Part("openclipart", clipart))),
        "train-fmnist": Recipe((Part("noto-emoji", emoji, "exclude"),
                                Part("fashion-mnist", {"split": "train", "limit": fmnist_train}))),
        "emoji-heldout": Recipe((Part("noto-emoji", emoji, "only"),)),
        "fmnist-test": Recipe((Part("fashion-mnist", {"split": "test", "limit": fmnist_test}),)),
    }
