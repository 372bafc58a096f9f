"""Studies as data, expanded into cells with stable ids (no Ray here).

A study is a product of axes over the base config (or a union of such products, for grids whose parts differ:
a pretrained text tower takes only its own tokenizer), plus fixed overrides of its own. A cell is one resolved
config; identical configs reached from several studies become one cell that lists every study.

Replicates (``expand(..., seeds=N)``): every cell runs N times, with ``train.seed`` = its seed + 0..N-1 (the
model's init, the data's file order and shuffle, the per-step RNG all follow it). The seed is part of the cell's
identity: the replicate at the cell's own seed keeps the plain id (and its config, so its config hash), the others
append ``,seed=<train.seed>``; so a sweep run with N=1 before keeps resuming, and raising N adds runs beside the
finished ones. ``replicate_group(id)`` (the id without that suffix) names the replicates of one setting.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from litlab.config import ConfigError, RunConfig, apply_overrides, config_hash, override

SEED_KEY = "train.seed"
SEED_SUFFIX = re.compile(r",seed=\d+$")  # what seeded_id appends; a config key always has a dot before "seed"


@dataclass(frozen=True)
class Study:
    name: str
    axes: Mapping[str, Sequence[Any]]  # config key -> values; the study is their product
    fixed: Mapping[str, Any] = field(default_factory=dict)  # overrides shared by the study's cells
    doc: str = ""  # which paper table or figure it reproduces
    more: tuple[Study, ...] = ()  # further products (their own axes and fixed overrides) under the same name

    def products(self) -> list[tuple[Mapping[str, Any], Mapping[str, Sequence[Any]]]]:
        """(fixed overrides, axes) of each product: this study's, then each of ``more``'s products, nested ones
        included, each with every fixed override above it (the innermost wins)."""
        out = [(self.fixed, self.axes)]
        for m in self.more:
            out += [({**self.fixed, **fixed}, axes) for fixed, axes in m.products()]
        return out

    def with_axes(self, values: Mapping[str, Sequence[Any]]) -> Study:
        """The study with some axes' values replaced in every product that has them, nested ones included (presets
        shrink step counts, tower sizes...); fixed overrides are never replaced."""
        names = {k for _, axes in self.products() for k in axes}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"study {self.name!r} has no axis {unknown[0]!r}; its axes: {', '.join(sorted(names))}")
        return self._swapped(values)

    def _swapped(self, values: Mapping[str, Sequence[Any]]) -> Study:
        axes = {k: values.get(k, v) for k, v in self.axes.items()}
        return replace(self, axes=axes, more=tuple(m._swapped(values) for m in self.more))


@dataclass(frozen=True)
class Cell:
    id: str  # e.g. "setup=Lu,text.arch=minilm_l6": stable across runs, so sweeps resume
    studies: tuple[str, ...]
    overrides: tuple[tuple[str, Any], ...]
    config: RunConfig

    @property
    def hash(self) -> str:
        return config_hash(self.config)

    @property
    def group(self) -> str:
        """The replicate group: this cell's id without its seed (the same for every seed of one setting)."""
        return replicate_group(self.id)

    @property
    def seed(self) -> int:
        return self.config.train.seed


def cell_id(axis_values: Sequence[tuple[str, Any]]) -> str:
    return ",".join(f"{k}={v}" for k, v in axis_values) or "base"


def seeded_id(group: str, seed: int) -> str:
    """The id of a replicate at ``seed`` of a cell whose own id is ``group`` (not at the cell's own seed)."""
    return f"{group},seed={seed}"


def replicate_group(cell: str) -> str:
    """A cell id without its replicate's seed: "setup=Lu,seed=2" -> "setup=Lu"; a plain id is its own group."""
    return SEED_SUFFIX.sub("", cell)


def replicate(cell: Cell, k: int) -> Cell:
    """The k-th replicate of ``cell``: k = 0 is the cell itself; k > 0 runs at train.seed + k, its id says so."""
    if k == 0:
        return cell
    seed = cell.seed + k
    return Cell(seeded_id(cell.id, seed), cell.studies, (*cell.overrides, (SEED_KEY, seed)),
                override(cell.config, SEED_KEY, seed))


def expand_study(base: RunConfig, study: Study) -> list[Cell]:
    return [cell for fixed, axes in study.products() for cell in _expand_product(base, study, fixed, axes)]


def _expand_product(base: RunConfig, study: Study, fixed: Mapping[str, Any],
                    axes: Mapping[str, Sequence[Any]]) -> list[Cell]:
    keys = list(axes)
    for k in keys:
        if not axes[k]:
            raise ConfigError(f"study {study.name!r}: axis {k!r} has no values")
    cells = []
    for values in itertools.product(*(axes[k] for k in keys)):
        axis = tuple(zip(keys, values, strict=True))
        overrides = tuple(fixed.items()) + axis
        try:
            cfg = apply_overrides(base, overrides)
        except ConfigError as err:
            raise ConfigError(f"study {study.name!r}: {err}") from None
        cells.append(Cell(cell_id(axis), (study.name,), overrides, cfg))
    return cells


def expand(base: RunConfig, studies: Sequence[Study], seeds: int = 1) -> list[Cell]:
    """All cells of all studies in order, each ``seeds`` times (every cell at its first seed, then every cell at
    the next...); identical configs merged; ids made unique with the study name."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"seeds must be a whole number >= 1 (replicates per cell), got {seeds!r}")
    expanded = [expand_study(base, study) for study in studies]
    by_hash: dict[str, Cell] = {}
    for k in range(seeds):
        for study_cells in expanded:
            for cell in (replicate(c, k) for c in study_cells):
                seen = by_hash.get(cell.hash)
                if seen is not None:
                    merged = seen.studies + tuple(s for s in cell.studies if s not in seen.studies)  # once each
                    by_hash[cell.hash] = Cell(seen.id, merged, seen.overrides, seen.config)
                else:
                    by_hash[cell.hash] = cell
    cells = list(by_hash.values())
    ids = [c.id for c in cells]
    return [Cell(f"{c.studies[0]}:{c.id}", c.studies, c.overrides, c.config) if ids.count(c.id) > 1 else c
            for c in cells]


def select(studies: Sequence[Study], names: Sequence[str] | None) -> list[Study]:
    """The named studies (all when ``names`` is empty); unknown names list the valid ones."""
    if not names:
        return list(studies)
    known = {s.name: s for s in studies}
    bad = [n for n in names if n not in known]
    if bad:
        raise ConfigError(f"unknown study {bad[0]!r}; valid: {', '.join(known)}")
    return [known[n] for n in names]


def decided_values(study: Study, key: str) -> tuple[str, list[Any]]:
    """("axis" | "fixed" | "", the values) with which ``study`` sets config ``key`` in any of its products."""
    kind, values = "", []
    for fixed, axes in study.products():
        if key in axes:
            kind = "axis"
            values += [v for v in axes[key] if v not in values]
        elif key in fixed:
            kind = kind or "fixed"
            values += [fixed[key]] if fixed[key] not in values else []
    return kind, values


def set_conflicts(selected: Sequence[Study], keys: Sequence[str], every: Sequence[Study] = ()) -> list[str]:
    """A problem for each ``--set`` key that a selected study sets itself (its cells would ignore the value), naming
    the study, its axis or fixed value, and how to change it; [] when there is none."""
    out = []
    for key in dict.fromkeys(keys):
        for study in selected:
            kind, values = decided_values(study, key)
            if not kind:
                continue
            free = [s.name for s in every if not decided_values(s, key)[0]]
            shown = ", ".join(map(str, values))
            fixes = [f"change the study's {'axis' if kind == 'axis' else 'fixed value'} (the studies and the "
                     f"presets' axes are data in experiments/design_grid.py)"]
            if kind == "axis":
                fixes.append("pick some of its cells with --cell (ids: --dry-run)")
            if free:
                fixes.append(f"run studies that leave {key} to the base config: --study {' / '.join(free)}")
            out.append(f"--set {key}: study {study.name!r} sets {key} itself ({kind} {shown}), so its cells would "
                       f"ignore your value; instead {', or '.join(fixes)}")
    return out
