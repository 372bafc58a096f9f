"""Build the demo shards from data that Debian packages ship (emoji + Fashion-MNIST).

    python -m litlab.data.build --root ~/.cache/litlab/data [--fmnist-train 10000] [--fmnist-test 2000]

Splits under root: ``train/`` (emoji minus the held-out ones, plus a Fashion-MNIST train subset, interleaved
so every shard mixes both), ``emoji-heldout/`` (a fixed fraction of the emoji chosen by a hash of the key,
for retrieval) and ``fmnist-test/`` (zero-shot classification; meta has label and class). A split whose
``_stats.json`` exists is kept as it is: delete the folder to rebuild it. About 6 s on a 2-core CPU with
the defaults (11.7k train rows, 19 MB in all); 17 s with all 70k Fashion-MNIST images.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from litlab.data.shards import STATS, Record, ShardStats, read_stats, write_shards
from litlab.data.sources.emoji import EmojiEntry, emoji_records, parse_emoji_test, select_entries
from litlab.data.sources.fashion_mnist import SPLIT_SIZES, iter_fashion_mnist

Progress = Callable[[str], None]
SourceFactory = Callable[[dict[str, int]], Iterator[Record]]  # gets a dict to count what the source drops


def is_heldout(key: str, fraction: float) -> bool:
    """A stable pseudo-random draw from the key: True for about ``fraction`` of all keys."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64 < fraction


def interleave(streams: Sequence[tuple[Iterator[Record], int]]) -> Iterator[Record]:
    """Merge (stream, expected length) pairs in proportion, so any stretch of the output mixes them all."""
    live = [[iter(s), max(n, 1), 0] for s, n in streams]
    while live:
        entry = min(live, key=lambda e: (e[2] + 0.5) / e[1])  # the stream furthest behind its share
        try:
            record = next(entry[0])
        except StopIteration:
            live.remove(entry)
            continue
        entry[2] += 1
        yield record


def split_emoji(heldout_fraction: float, limit: int | None) -> tuple[list[EmojiEntry], list[EmojiEntry]]:
    """(train, held-out) emoji entries; the held-out choice depends only on each key."""
    entries = select_entries(parse_emoji_test(), limit=limit)
    heldout = [e for e in entries if is_heldout(e.key, heldout_fraction)]
    return [e for e in entries if not is_heldout(e.key, heldout_fraction)], heldout


def _counting(records: Iterator[Record], split: str, total: int, by_source: Counter[str],
              progress: Progress, every: int = 2000) -> Iterator[Record]:
    """Pass records through, counting them by source (the key's first part) and reporting progress."""
    for n, record in enumerate(records, 1):
        by_source[record.key.split("/", 1)[0]] += 1
        if n % every == 0:
            progress(f"  {split}: {n}/~{total} records")
        yield record


def _build_split(folder: Path, make: SourceFactory, total: int, rows_per_shard: int,
                 progress: Progress) -> ShardStats:
    """Write one split unless it is already finished; reports rows, sources, skips and seconds."""
    if (folder / STATS).exists():
        stats = read_stats(folder)
        progress(f"{folder.name}: kept ({stats.rows} rows already built; delete {folder} to rebuild)")
        return stats
    tic = time.perf_counter()
    dropped: dict[str, int] = {}
    by_source: Counter[str] = Counter()
    records = _counting(make(dropped), folder.name, total, by_source, progress)
    stats = write_shards(records, folder, rows_per_shard=rows_per_shard, source_skipped=dropped)
    sources = ", ".join(f"{k} {v}" for k, v in sorted(by_source.items()))
    progress(f"{folder.name}: {stats.rows} rows ({sources}) in {stats.shards} shards, "
             f"{stats.bytes / 1e6:.1f} MB, skipped {stats.skipped_text()}, "
             f"{time.perf_counter() - tic:.1f} s")
    return stats


def build_demo_shards(root: str | Path, *, fmnist_train: int = 10000, fmnist_test: int = 2000,
                      heldout_fraction: float = 0.1, emoji_limit: int | None = None,
                      rows_per_shard: int = 2000, progress: Progress = print) -> dict[str, ShardStats]:
    """Build (or keep) train/, emoji-heldout/ and fmnist-test/ under ``root``; returns their stats."""
    if not 0.0 <= heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
    n_train, n_test = min(fmnist_train, SPLIT_SIZES["train"]), min(fmnist_test, SPLIT_SIZES["test"])
    train_emoji, heldout_emoji = split_emoji(heldout_fraction, emoji_limit)
    plans: dict[str, tuple[SourceFactory, int]] = {
        "train": (lambda dropped: interleave([
            (emoji_records(train_emoji, skipped=dropped), len(train_emoji)),
            (iter_fashion_mnist("train", limit=fmnist_train), n_train)]), len(train_emoji) + n_train),
        "emoji-heldout": (lambda dropped: emoji_records(heldout_emoji, skipped=dropped), len(heldout_emoji)),
        "fmnist-test": (lambda dropped: iter_fashion_mnist("test", limit=fmnist_test), n_test),
    }
    root = Path(root)
    return {split: _build_split(root / split, make, total, rows_per_shard, progress)
            for split, (make, total) in plans.items()}


def main(argv: list[str] | None = None) -> int:
    from litlab.config import default_data_root

    p = argparse.ArgumentParser(prog="python -m litlab.data.build", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=default_data_root(), help="output folder, one subfolder per split "
                   "(default: $LITLAB_DATA_ROOT or ~/.cache/litlab/data)")
    p.add_argument("--fmnist-train", type=int, default=10000, help="Fashion-MNIST training pairs (max 60000)")
    p.add_argument("--fmnist-test", type=int, default=2000, help="Fashion-MNIST test images (max 10000)")
    p.add_argument("--heldout-fraction", type=float, default=0.1, help="share of emoji held out of train")
    p.add_argument("--emoji-limit", type=int, default=None, help="use only this many emoji (for quick tries)")
    args = p.parse_args(argv)
    tic = time.perf_counter()
    try:
        stats = build_demo_shards(args.root, fmnist_train=args.fmnist_train, fmnist_test=args.fmnist_test,
                                  heldout_fraction=args.heldout_fraction, emoji_limit=args.emoji_limit)
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
