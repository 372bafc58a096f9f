"""Evaluation speed: 10k images x 30k captions retrieval, image tower computed vs served from the cache.

Run:
    python experiments/benchmarks/eval_speed.py                       # Lu: locked efficientnet_lite0 + transformer_tiny
    python experiments/benchmarks/eval_speed.py --text-arch minilm_l6 --setup LU --images 10000 --size 64

Builds a retrieval set from the 10,000 Fashion-MNIST test images (Debian dataset-fashion-mnist), three captions
per image (30,000), and scores image<->text recall@1/5/10 three times in one process, side by side:
  cold    the image tower embeds every image (what an unlocked tower pays at every evaluation);
  cached  the same evaluation again: image embeddings come from the on-disk cache (a locked tower);
  text    the text tower alone on the 30k captions (the floor a cached evaluation cannot beat).
Prints each time and the ratios; the metrics of cold and cached must be identical. Takes about 2-3 minutes on
a 2-core CPU at 64 px (most of it the cold pass).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
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
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = apply_overrides(RunConfig(), {"setup": args.setup, "image.arch": args.image_arch,
                                        "text.arch": args.text_arch, "image.size": args.size})
    model = build_model(cfg).eval()
    data, load_s = timed(lambda: captioned(args.images, args.size))
    print(f"{len(data.images)} images, {len(data.captions)} captions at {args.size} px; loading took {load_s:.1f} s",
          flush=True)
    tokenize = get_tokenizer(cfg.text.tokenizer, cfg.text.max_len)
    with tempfile.TemporaryDirectory() as folder, torch.no_grad():
        ctx = Context(tokenize=tokenize, templates="simple", batch_size=256, cache=ImageEmbeddingCache(folder))
        cold, cold_s = timed(lambda: retrieval(model, [data], ctx))
        fresh = Context(tokenize=tokenize, templates="simple", batch_size=256, cache=ImageEmbeddingCache(folder))
        cached, cached_s = timed(lambda: retrieval(model, [data], fresh))  # a new cache object: served from disk
        _, text_s = timed(lambda: text_embeddings(model, data.captions, tokenize, 256))
    if cold != cached:
        raise SystemExit(f"cached metrics differ from computed ones: {cold} vs {cached}")
    hit = "disk hit" if fresh.cache.hits == 1 else f"NOT cached ({args.setup}: image side not frozen)"
    print(f"cold   (image tower + text tower + recall): {cold_s:7.1f} s")
    print(f"cached (cache + text tower + recall):       {cached_s:7.1f} s   [{hit}]")
    print(f"text tower alone on the captions:           {text_s:7.1f} s")
    print(f"cold / cached = {cold_s / cached_s:.2f}x   cached / text-only = {cached_s / text_s:.2f}x")
    print("metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(cached.items())))


if __name__ == "__main__":
    main()
