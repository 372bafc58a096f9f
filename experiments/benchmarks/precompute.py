"""Precomputed image embeddings (paper Appendix G): Lu step time from the cache vs the locked tower every step.

Run:
    python experiments/benchmarks/precompute.py                     # efficientnet_lite0 @ 64 px, transformer_tiny
    python experiments/benchmarks/precompute.py --size 224 --steps 20 --text-arch minilm_l6

Three ways to train the same Lu model on the same demo-shard rows (`make data`), side by side in one process,
each through `litlab.loop.train` for --steps steps of --batch pairs:
  tower   decode + resize the JPEGs and run the locked image tower every step (what training without the cache does);
  cache   rows of (zimg, caption) as the embedding cache stores them, tokenized per step (`tokenize_batch`, the
          transform the Ray Data cache path runs), image tower never loaded;
  text    the floor: the text tower and the loss alone on ready tensors (fixed features, pre-tokenized ids).
Each side runs --repeats times, alternated (A B C, C B A, ...); prints per side the median and min-max
pairs/s and the ratios paired per repeat; the goal is cache step time <= 1.15x the text-only step. Building the
cache is timed separately (a one-time cost shared by every trial and sweep). About 3-5 minutes on a 2-core CPU
(3 repeats).
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Iterator

import numpy as np
import torch
from figures import report
from litlab.config import RunConfig, apply_overrides, default_data_root
from litlab.data.shards import iter_rows
from litlab.data.transforms import preprocess_batch, tokenize_batch
from litlab.models.build import build_model
from timed_steps import pairs_per_second

KINDS = ("tower", "cache", "text")


def rows(root: str, n: int) -> list[dict]:
    out = [r for r, _ in zip(iter_rows(f"{root}/train", columns=["jpg", "txt"]), range(n), strict=False)]
    if len(out) < n:
        raise SystemExit(f"only {len(out)} training rows under {root}/train; run `make data` first")
    return out


def batches(kind: str, data: list[dict], feats: np.ndarray, cfg: RunConfig, batch: int) -> Iterator[dict]:
    tok = {"tokenizer": cfg.text.tokenizer, "max_len": cfg.text.max_len}
    ready = None
    for start in itertools.cycle(range(0, len(data) - batch + 1, batch)):
        chunk = data[start:start + batch]
        if kind == "tower":
            out = preprocess_batch({"jpg": [r["jpg"] for r in chunk], "txt": [r["txt"] for r in chunk]},
                                   size=cfg.image.size, **tok)
        elif kind == "cache":
            out = tokenize_batch({"zimg": list(feats[start:start + batch]), "txt": [r["txt"] for r in chunk]}, **tok)
        else:  # text: the same tensors every step, nothing to prepare
            ready = ready or {k: torch.from_numpy(v) for k, v in tokenize_batch(
                {"zimg": list(feats[:batch]), "txt": [r["txt"] for r in chunk]}, **tok).items()}
            yield ready
            continue
        yield {k: torch.from_numpy(v) for k, v in out.items()}


def timed_run(kind: str, data: list[dict], feats: np.ndarray, cfg: RunConfig, args: argparse.Namespace) -> float:
    """pairs/s over --steps steps after 2 warm-up steps."""
    model = build_model(cfg, image_features=None if kind == "tower" else feats.shape[1])
    return pairs_per_second(model, batches(kind, data, feats, cfg, args.batch), args.steps, args.batch)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=default_data_root())
    p.add_argument("--image-arch", default="efficientnet_lite0")
    p.add_argument("--text-arch", default="transformer_tiny")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="timed runs of each side, alternated")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = apply_overrides(RunConfig(), {"setup": "Lu", "image.arch": args.image_arch, "text.arch": args.text_arch,
                                        "image.size": args.size})
    data = rows(args.root, 8 * args.batch)
    tower = build_model(cfg).image.eval()
    tic = time.perf_counter()
    with torch.no_grad():
        images = preprocess_batch({"jpg": [r["jpg"] for r in data], "txt": [r["txt"] for r in data]},
                                  size=args.size, tokenizer=cfg.text.tokenizer, max_len=cfg.text.max_len)["image"]
        feats = torch.cat([tower(torch.from_numpy(images[i:i + 128])) for i in range(0, len(images), 128)]).numpy()
    print(f"cache build: {len(data)} images in {time.perf_counter() - tic:.1f} s (once per tower, size and split)")
    speed: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for r in range(args.repeats):  # alternated, reversed every other repeat: no side always follows the same one
        for kind in KINDS if r % 2 == 0 else KINDS[::-1]:
            speed[kind].append(timed_run(kind, data, feats, cfg, args))
        print(f"repeat {r + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in speed.items()) + " pairs/s",
              flush=True)
    print(f"\nmedian [min-max] over {args.repeats} alternated repeats (ratios paired per repeat):")
    for kind, pairs in speed.items():
        report(f"{kind} pairs/s", pairs, fmt=".1f")
    report("cache vs tower (faster)", [c / t for c, t in zip(speed["cache"], speed["tower"], strict=True)], unit="x")
    report("cache step / text-only step", [t / c for t, c in zip(speed["text"], speed["cache"], strict=True)],
           goal="<= 1.15", unit="x")

if __name__ == "__main__":
    main()
