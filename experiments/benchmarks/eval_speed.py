"""Evaluation speed: 10k images x 30k captions retrieval, image tower computed vs served from the cache.

Run:
    python experiments/benchmarks/eval_speed.py                       # Lu: locked efficientnet_lite0 + transformer_tiny
    python experiments/benchmarks/eval_speed.py --text-arch minilm_l6 --setup LU --images 10000 --size 64

Builds a retrieval set from the 10,000 Fashion-MNIST test images (Debian dataset-fashion-mnist), three captions
per image (30,000), and scores image<->text recall@1/5/10 three times in one process, side by side:
  cold    the image tower embeds every image (what an unlocked tower pays at every evaluation);
  cached  the same evaluation again: image embeddings come from the on-disk cache (a locked tower);
  text    the text tower alone on the 30k captions (the floor a cached evaluation cannot beat).
All three --repeats times (each repeat with a new cache folder; the text tower timed first in every other repeat).
Prints per time the median and min-max and the ratios paired per repeat; the metrics of cold and cached must be
identical. Takes about 5-7 minutes on a 2-core CPU at 64 px with 3 repeats (most of it the cold passes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import numpy as np
import torch
from figures import report
from litlab.config import RunConfig, apply_overrides
from litlab.evaluators.cache import ImageEmbeddingCache
from litlab.evaluators.retrieval import text_embeddings
from litlab.evaluators.sets import RetrievalSet, load_eval_set
from litlab.evaluators.suite import Context, retrieval
from litlab.models.build import build_model
from litlab.tokenizers import get_tokenizer

CAPTIONS = ("a photo of a {}.", "a {}, a type of clothing.", "a black and white picture of the {}.")


def captioned(images: int, size: int) -> RetrievalSet:
    data = load_eval_set("fmnist-idx-test", None, size, images)
    captions = [t.format(data.classnames[label]) for label in data.labels for t in CAPTIONS]
    owner = np.repeat(np.arange(len(data.images)), len(CAPTIONS)).astype(np.int64)
    return RetrievalSet(data.images, tuple(captions), owner, name="fmnist-captions")


def timed(fn):
    tic = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - tic


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--setup", default="Lu")
    p.add_argument("--image-arch", default="efficientnet_lite0")
    p.add_argument("--text-arch", default="transformer_tiny")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--images", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="cold, cached and text-only timings, each repeat anew")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = apply_overrides(RunConfig(), {"setup": args.setup, "image.arch": args.image_arch,
                                        "text.arch": args.text_arch, "image.size": args.size})
    model = build_model(cfg).eval()
    data, load_s = timed(lambda: captioned(args.images, args.size))
    print(f"{len(data.images)} images, {len(data.captions)} captions at {args.size} px; loading took {load_s:.1f} s",
          flush=True)
    tokenize = get_tokenizer(cfg.text.tokenizer, cfg.text.max_len)
    secs: dict[str, list[float]] = {"cold": [], "cached": [], "text": []}
    for r in range(args.repeats):
        cached = one_repeat(model, data, tokenize, secs, text_first=r % 2 == 1)
        print(f"repeat {r + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in secs.items()), flush=True)
    print(f"\nmedian [min-max] over {args.repeats} repeats (the text tower timed first in every other one; ratios "
          "paired per repeat):")
    report("cold (image tower + text tower + recall) s", secs["cold"], unit=" s", fmt=".1f")
    report("cached (cache + text tower + recall) s", secs["cached"], unit=" s", fmt=".1f")
    report("text tower alone s", secs["text"], unit=" s", fmt=".1f")
    report("cold / cached", [a / b for a, b in zip(secs["cold"], secs["cached"], strict=True)], unit="x")
    report("cached / text-only", [a / b for a, b in zip(secs["cached"], secs["text"], strict=True)], unit="x")
    print("metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(cached.items())))


def one_repeat(model: torch.nn.Module, data: RetrievalSet, tokenize: Any, secs: dict[str, list[float]],
               text_first: bool) -> dict[str, float]:
    """cold (a new cache folder), then cached (a new cache object on it: served from disk), and the text tower
    alone before or after them; appends each time to ``secs``; returns the cached metrics (equal to the cold)."""
    with tempfile.TemporaryDirectory() as folder, torch.no_grad():
        def text() -> None:
            secs["text"].append(timed(lambda: text_embeddings(model, data.captions, tokenize, 256))[1])
        if text_first:
            text()
        ctx = Context(tokenize=tokenize, templates="simple", batch_size=256, cache=ImageEmbeddingCache(folder))
        cold, cold_s = timed(lambda: retrieval(model, [data], ctx))
        fresh = Context(tokenize=tokenize, templates="simple", batch_size=256, cache=ImageEmbeddingCache(folder))
        cached, cached_s = timed(lambda: retrieval(model, [data], fresh))
        if not text_first:
            text()
    if cold != cached:
        raise SystemExit(f"cached metrics differ from computed ones: {cold} vs {cached}")
    if fresh.cache.hits != 1:
        raise SystemExit("the image side was NOT cached (its tower is not frozen in this setup); pick a setup with L")
    secs["cold"].append(cold_s)
    secs["cached"].append(cached_s)
    return cached

if __name__ == "__main__":
    main()
