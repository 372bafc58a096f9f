"""Build the demo shards from data that Debian packages ship (emoji, Open Clip Art, Fashion-MNIST).

    python -m litlab.data.build --root ~/.cache/litlab/data [--fmnist-train 10000] [--fmnist-test 2000]

Splits under root (recipes in ``litlab.data.recipes``): ``train/`` (the transfer protocol's tuning corpus: the
Noto emoji minus the held-out ones, plus Open Clip Art, interleaved so every shard mixes both),
``train-fmnist/`` (the in-distribution corpus: the same emoji plus a Fashion-MNIST train subset),
``emoji-heldout/`` (the held-out emoji, ``litlab.data.heldout``) and ``fmnist-test/`` (zero-shot
classification; meta has label and class). Each split records its recipe in ``_stats.json``: a finished split
built by the same recipe is kept, one built by another (an older litlab's ``train/`` with Fashion-MNIST, other
limits) is rebuilt, and the build says what differed. About 40 s on a 2-core CPU with the defaults (Open Clip
Art is most of it: 4711 drawings read, scaled to 256 px and re-encoded), 75 MB in all.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from litlab.data.recipes import Recipe, demo_recipes, differences
from litlab.data.shards import STATS, Record, ShardStats, read_stats, write_shards
from litlab.data.sources import SkipRecord, Source
from litlab.progress import Rate

Progress = Callable[[str], None]
T = TypeVar("T")


def interleave(streams: Sequence[tuple[Iterator[T], int]]) -> Iterator[T]:
    """Merge (stream, expected length) pairs in proportion, so any stretch of the output mixes them all."""
    live = [[iter(s), max(n, 1), 0] for s, n in streams]
    while live:
        entry = min(live, key=lambda e: (e[2] + 0.5) / e[1])  # the stream furthest behind its share
        try:
            item = next(entry[0])
        except StopIteration:
            live.remove(entry)
            continue
        entry[2] += 1
        yield item


def _records(recipe: Recipe, dropped: dict[str, int]) -> tuple[Iterator[Record], int]:
    """(the recipe's records, its parts' items interleaved in proportion; how many items there are). Items a
    source skips are counted in ``dropped`` by reason."""
    parts = [(part.make(), part.items()) for part in recipe.parts]
    jobs = interleave([(zip(itertools.repeat(source), items), len(items)) for source, items in parts])
    return iter_loaded(jobs, dropped), sum(len(items) for _, items in parts)


def iter_loaded(jobs: Iterator[tuple[Source, Any]], dropped: dict[str, int]) -> Iterator[Record]:
    """``source.load(item)`` for each job; SkipRecord is counted in ``dropped`` by reason."""
    for source, item in jobs:
        try:
            yield source.load(item)
        except SkipRecord as skip:
            dropped[skip.reason] = dropped.get(skip.reason, 0) + 1


def _counting(records: Iterator[Record], split: str, total: int, by_source: Counter[str],
              progress: Progress, every_s: float = 10.0) -> Iterator[Record]:
    """Pass records through, counting them by source (the key's first part) and reporting progress (rate, ETA)."""
    rate = Rate(f"  {split}", total, unit="records", every_s=every_s, say=progress)
    for record in records:
        by_source[record.key.split("/", 1)[0]] += 1
        rate.add()
        yield record


def _up_to_date(folder: Path, recipe: dict[str, Any], progress: Progress) -> ShardStats | None:
    """The stats of a finished split built by ``recipe``, else None (saying why a finished one is rebuilt)."""
    if not (folder / STATS).exists():
        return None
    stats = read_stats(folder)
    changed = differences(stats.recipe, recipe)
    if not changed:
        progress(f"{folder.name}: kept ({stats.rows} rows, built by the same recipe)")
        return stats
    progress(f"{folder.name}: rebuilding: it was built by another recipe ({'; '.join(changed[:4])}"
             f"{' ...' if len(changed) > 4 else ''}); shards are derived data")
    return None


def _build_split(folder: Path, recipe: Recipe, rows_per_shard: int, progress: Progress) -> ShardStats:
    """Write one split unless it is finished and built by the same recipe; reports rows, sources and seconds."""
    wanted = recipe.as_json()
    if (kept := _up_to_date(folder, wanted, progress)) is not None:
        return kept
    tic = time.perf_counter()
    dropped: dict[str, int] = {}
    by_source: Counter[str] = Counter()
    records, total = _records(recipe, dropped)
    progress(f"{folder.name}: building from {recipe.summary()} ({total} items)")
    stats = write_shards(_counting(records, folder.name, total, by_source, progress), folder,
                         rows_per_shard=rows_per_shard, source_skipped=dropped, overwrite=True, recipe=wanted)
    sources = ", ".join(f"{k} {v}" for k, v in sorted(by_source.items()))
    progress(f"{folder.name}: {stats.rows} rows ({sources}) in {stats.shards} shards, "
             f"{stats.bytes / 1e6:.1f} MB, skipped {stats.skipped_text()}, "
             f"{time.perf_counter() - tic:.1f} s")
    return stats


def build_demo_shards(root: str | Path, *, fmnist_train: int = 10000, fmnist_test: int = 2000,
                      emoji_limit: int = 0, openclipart_limit: int = 0, splits: Sequence[str] | None = None,
                      rows_per_shard: int = 2000,
                      progress: Progress = print) -> dict[str, ShardStats]:
    """Build (or keep) the demo splits under ``root`` (all four, or ``splits``); returns their stats.

    Limits are 0 for all (emoji and Open Clip Art: evenly spaced; Fashion-MNIST: class-balanced)."""
    recipes = demo_recipes(fmnist_train=fmnist_train, fmnist_test=fmnist_test, emoji_limit=emoji_limit,
                           openclipart_limit=openclipart_limit)
    unknown = sorted(set(splits or ()) - set(recipes))
    if unknown:
        raise ValueError(f"unknown split(s) {', '.join(unknown)}; the demo splits are {', '.join(recipes)}")
    root = Path(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # such drawings are counted as too_large
        return {split: _build_split(root / split, recipe, rows_per_shard, progress)
                for split, recipe in recipes.items() if splits is None or split in splits}


def main(argv: list[str] | None = None) -> int:
    from litlab.config import default_data_root

    p = argparse.ArgumentParser(prog="python -m litlab.data.build", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=default_data_root(), help="output folder, one subfolder per split "
                   "(default: $LITLAB_DATA_ROOT or ~/.cache/litlab/data)")
    p.add_argument("--fmnist-train", type=int, default=10000, help="Fashion-MNIST training pairs of train-fmnist "
                   "(max 60000)")
    p.add_argument("--fmnist-test", type=int, default=2000, help="Fashion-MNIST test images (max 10000)")
    p.add_argument("--emoji-limit", type=int, default=0, help="use only this many emoji (for quick tries; 0 = all)")
    p.add_argument("--openclipart-limit", type=int, default=0, help="use only this many Open Clip Art drawings "
                   "(0 = all)")
    p.add_argument("--split", action="append", default=None, help="build only this split (repeatable)")
    args = p.parse_args(argv)
    tic = time.perf_counter()
    try:
        stats = build_demo_shards(args.root, fmnist_train=min(args.fmnist_train, 60000),
                                  fmnist_test=min(args.fmnist_test, 10000), emoji_limit=args.emoji_limit,
                                  openclipart_limit=args.openclipart_limit, splits=args.split)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"\nshards under {args.root} ({time.perf_counter() - tic:.1f} s):")
    for split, s in stats.items():
        print(f"  {split:14s} {s.rows:6d} rows  {s.shards:3d} shards  {s.bytes / 1e6:7.1f} MB  "
              f"skipped: {s.skipped_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
