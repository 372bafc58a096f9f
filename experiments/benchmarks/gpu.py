"""GPU readiness: pairs/s and MFU of litlab's Lu and Uu steps in bf16, the all-gather, the precompute actor.

Run:
    python experiments/benchmarks/gpu.py            # a GPU machine: ViT-B/16 + transformer_base @ 224 px, batch 256
    python experiments/benchmarks/gpu.py --tiny     # CPU, tiny towers, batch 8, float32, gloo: ~20 s on a 2-core CPU

Three figures, each taken through litlab's own code:
  train step   litlab.loop.train on one in-memory batch (random pixels and token ids: the work does not depend on
               them); the model from build_model with random-init towers, locked per setup by apply_setup; bf16
               autocast (optim.bf16) on CUDA. pairs/s from the median step after warm-up. MFU = FLOPs of one step
               (torch.utils.flop_counter.FlopCounterMode: the matmuls, convolutions and attention of forward and
               backward, the locked tower's forward included) / step time / the card's dense bf16 peak (PEAK_BF16;
               'unknown' for cards not in the table and for CPUs).
  all-gather   torch.distributed.all_gather of one rank's (B, D) float32 embeddings, what the global loss gathers:
               nccl with one process per local GPU (--world), gloo on CPU. Time per call; algorithm and bus
               bandwidth as nccl-tests define them (bus = algorithm x (W-1)/W, so n/a for one rank).
  precompute   litlab.cluster.precompute.Embedder, the Ray Data actor, called directly without Ray on synthetic
               JPEGs (decode, resize, locked tower; on the GPU when there is one): embeddings/s of the whole call
               and of the tower alone. Its tower loads shipped weights (--embed-arch), as the actor does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from figures import report as figure
from litlab.config import Optim, RunConfig, apply_overrides
from litlab.data.shards import encode_jpeg
from litlab.data.transforms import decode_rows
from litlab.loop import train
from litlab.models.build import build_model
from litlab.models.locking import apply_setup
from litlab.tokenizers import get_tokenizer
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

Batch = dict[str, torch.Tensor]
# dense (no sparsity) bfloat16 tensor-core peaks, FLOP/s, from the vendor's data sheets; first substring match wins
PEAK_BF16: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H100", 989e12), ("H200", 989e12), ("A100", 312e12),
    ("L40S", 362e12), ("L4", 121e12),
)
SIZES = {  # full: ViT-B/16 image tower, BERT-base-size text tower; tiny: the same code at CPU-test sizes
    "full": {"image_arch": "vit_base_patch16_224", "size": 224, "text_arch": "transformer_base", "batch": 256,
             "steps": 10, "warmup": 3, "embed_size": 224, "embed_rows": 128, "embed_batches": 5, "gather_iters": 50,
             "source_px": 256},
    "tiny": {"image_arch": "test_vit", "size": 32, "text_arch": "transformer_tiny", "batch": 8,
             "steps": 3, "warmup": 1, "embed_size": 32, "embed_rows": 16, "embed_batches": 2, "gather_iters": 5,
             "source_px": 48},
}


def peak_bf16(device_name: str) -> float | None:
    """The card's dense bf16 peak in FLOP/s, or None when it is not in PEAK_BF16 (CPUs included)."""
    return next((peak for key, peak in PEAK_BF16 if key in device_name), None)


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of the matmuls, convolutions and attention that ``fn()`` runs (a multiply-add counts 2)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def build(setup: str, args: argparse.Namespace, device: torch.device) -> tuple[torch.nn.Module, RunConfig]:
    """Random-init towers (letters u), then the setup's locking: throughput does not depend on the weights."""
    cfg = apply_overrides(RunConfig(), {"setup": "uu", "image.arch": args.image_arch, "image.size": args.size,
                                        "text.arch": args.text_arch})
    return apply_setup(build_model(cfg), setup).to(device), cfg


def random_batch(cfg: RunConfig, batch: int) -> Batch:
    g = torch.Generator().manual_seed(0)
    vocab = get_tokenizer(cfg.text.tokenizer, cfg.text.max_len).vocab_size
    size, length = cfg.image.size, cfg.text.max_len
    return {"image": torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8, generator=g),  # (B, H, W, 3)
            "ids": torch.randint(1, vocab, (batch, length), generator=g),  # (B, T)
            "mask": torch.ones(batch, length, dtype=torch.long)}  # (B, T) every token real: the full 16


def step_figures(setup: str, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """FLOPs of one litlab.loop.train step, then --steps timed steps after --warmup; MFU against the card's peak."""
    model, cfg = build(setup, args, device)
    batch = random_batch(cfg, args.batch)
    flops = count_flops(lambda: train(model, [batch], Optim(steps=1, warmup_steps=1, bf16=args.bf16),
                                      log=lambda s, m: None, device=device))
    stamps: list[float] = []
    total = args.warmup + args.steps
    train(model, (batch for _ in range(total)), Optim(steps=total, warmup_steps=1, bf16=args.bf16),
          log=lambda s, m: stamps.append(time.perf_counter()), log_every=1, device=device)  # logging syncs
    times = [b - a for a, b in zip(stamps[args.warmup - 1:], stamps[args.warmup:], strict=False)]  # (steps,)
    step_s = statistics.median(times)
    peak = peak_bf16(device_name(device))
    return {"flops": float(flops), "step_s": step_s, "step_min_s": min(times), "step_max_s": max(times),
            "pairs_per_s": args.batch / step_s, "flops_per_s": flops / step_s,
            "mfu": flops / step_s / peak if peak else None, "embed_dim": model.embed_dim, "step_times": times}


def _gather_rank(rank: int, world: int, init: str, backend: str, rows: int, dim: int, iters: int) -> dict[str, float]:
    """One rank's all-gather timing; every rank runs the same calls (they are collective)."""
    if dist.is_initialized():
        raise RuntimeError("torch.distributed is already initialised in this process; run the benchmark alone")
    device = torch.device(f"cuda:{rank}") if backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, init_method=init, rank=rank, world_size=world)
    try:
        x = torch.randn(rows, dim, device=device)  # (B, D) one rank's embeddings
        parts = [torch.empty_like(x) for _ in range(world)]
        for _ in range(3):
            dist.all_gather(parts, x)
        _sync(device)
        tic = time.perf_counter()
        for _ in range(iters):
            dist.all_gather(parts, x)
        _sync(device)
        seconds = (time.perf_counter() - tic) / iters
    finally:
        dist.destroy_process_group()
    size = world * x.numel() * x.element_size()  # bytes each rank ends up with
    algbw = size / seconds
    return {"world": world, "bytes_per_rank": x.numel() * x.element_size(), "seconds": seconds,
            "algbw_gb_s": algbw / 1e9, "busbw_gb_s": algbw * (world - 1) / world / 1e9 if world > 1 else None}


def _gather_worker(rank: int, world: int, init: str, backend: str, rows: int, dim: int, iters: int,
                   out: str) -> None:
    result = _gather_rank(rank, world, init, backend, rows, dim, iters)
    if rank == 0:
        Path(out).write_text(json.dumps(result))


def gather_figures(world: int, backend: str, rows: int, dim: int, iters: int) -> dict[str, Any]:
    """World 1 runs in this process; more ranks are spawned, one process per GPU (nccl) or CPU rank (gloo)."""
    with tempfile.TemporaryDirectory() as tmp:
        init = f"file://{tmp}/rendezvous"
        if world == 1:
            result = _gather_rank(0, 1, init, backend, rows, dim, iters)
        else:
            out = f"{tmp}/result.json"
            mp.spawn(_gather_worker, args=(world, init, backend, rows, dim, iters, out), nprocs=world, join=True)
            result = json.loads(Path(out).read_text())
    return {**result, "backend": backend}


def synthetic_jpegs(n: int, px: int) -> list[bytes]:
    """Smooth random colour fields (JPEG-friendly, like photos rather than noise), px x px, quality 95."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
    return [encode_jpeg(Image.fromarray(c).resize((px, px), Image.BILINEAR)) for c in coarse]


def embedder_figures(args: argparse.Namespace) -> dict[str, Any]:
    """The precompute actor's class called directly: embeddings/s of its whole call and of its tower alone."""
    from litlab.cluster.precompute import Embedder  # imports ray's modules; no cluster is started

    threads = torch.get_num_threads()
    emb = Embedder(args.embed_arch, args.embed_size, threads)
    jpgs = synthetic_jpegs(args.embed_rows, args.source_px)
    batch = {"key": np.array([str(i) for i in range(len(jpgs))], object), "jpg": np.array(jpgs, object),
             "txt": np.array(["a synthetic image"] * len(jpgs), object)}
    emb(batch)  # warm-up
    device = torch.device(emb.device)
    tic = time.perf_counter()
    rows = sum(len(emb(batch)["zimg"]) for _ in range(args.embed_batches))
    whole = rows / (time.perf_counter() - tic)
    _, images, _ = decode_rows(batch["jpg"], batch["txt"], args.embed_size)
    x = torch.from_numpy(np.stack(images)).to(device)  # (B, H, W, 3) uint8
    with torch.no_grad():
        emb.tower(x)
        _sync(device)
        tic = time.perf_counter()
        for _ in range(args.embed_batches):
            emb.tower(x)
        _sync(device)
    tower = len(images) * args.embed_batches / (time.perf_counter() - tic)
    return {"arch": args.embed_arch, "size": args.embed_size, "device": str(device), "rows": args.embed_rows,
            "whole_per_s": whole, "tower_per_s": tower}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _fmt(value: float | None, spec: str) -> str:
    return "unknown" if value is None else format(value, spec)


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    peak = figures["peak_bf16"]
    print(f"device: {figures['device']}; dense bf16 peak: {_fmt(peak and peak / 1e12, '.0f')}"
          + (" TFLOP/s" if peak else " (MFU needs the card in PEAK_BF16)"))
    print(f"train step: {args.image_arch} @ {args.size} px + {args.text_arch}, batch {args.batch}, "
          f"{'bf16 autocast' if args.bf16 else 'float32'}, {args.steps} timed steps after {args.warmup}")
    print(f"{'setup':6s} {'step ms median [min-max]':>28s} {'pairs/s':>10s} {'GFLOP/step':>11s} "
          f"{'TFLOP/s':>9s} {'MFU':>8s}")
    for setup, f in figures["steps"].items():
        span = f"{1e3 * f['step_s']:.1f} [{1e3 * f['step_min_s']:.1f}-{1e3 * f['step_max_s']:.1f}]"
        print(f"{setup:6s} {span:>28s} {f['pairs_per_s']:10.1f} {f['flops'] / 1e9:11.1f} "
              f"{f['flops_per_s'] / 1e12:9.3f} {_fmt(f['mfu'], '.1%'):>8s}")
    g = figures["gather"]
    bus = "n/a (one rank: a local copy)" if g["busbw_gb_s"] is None else f"{g['busbw_gb_s']:.2f} GB/s"
    print(f"all-gather ({g['backend']}, {g['world']} rank(s)): {g['bytes_per_rank'] / 1e6:.3f} MB per rank, "
          f"{1e3 * g['seconds']:.3f} ms per call, algbw {g['algbw_gb_s']:.3f} GB/s, busbw {bus}")
    e = figures["embedder"]
    print(f"precompute Embedder ({e['arch']} @ {e['size']} px, {e['rows']} JPEGs of {args.source_px} px a call, "
          f"on {e['device']}): {e['whole_per_s']:.1f} embeddings/s whole call (decode + tower), "
          f"{e['tower_per_s']:.1f}/s tower alone")
    for setup, f in figures["steps"].items():  # per timed step: its pairs/s and MFU
        figure(f"{setup} pairs/s", [args.batch / t for t in f["step_times"]], fmt=".1f")
        if peak:
            figure(f"{setup} MFU", [100 * f["flops"] / t / peak for t in f["step_times"]], unit=" %", fmt=".1f")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="CPU, tiny towers, small batch, float32, gloo (tests)")
    for key in SIZES["full"]:
        kind = str if isinstance(SIZES["full"][key], str) else int
        p.add_argument(f"--{key.replace('_', '-')}", type=kind, default=None, help="default: the size preset's")
    p.add_argument("--embed-arch", default="efficientnet_lite0", help="a tower with shipped weights (litlab.zoo)")
    p.add_argument("--world", type=int, default=0, help="all-gather ranks; 0 = every local GPU, or 1 on CPU")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    args = p.parse_args(argv)
    for key, value in SIZES["tiny" if args.tiny else "full"].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    cuda = torch.cuda.is_available() and not args.tiny
    args.device = torch.device("cuda" if cuda else "cpu")
    args.bf16 = cuda  # litlab ignores optim.bf16 off CUDA (with a warning): ask for it only where it applies
    args.backend = "nccl" if cuda else "gloo"
    args.world = args.world or (torch.cuda.device_count() if cuda else 1)
    if args.warmup < 1 or args.steps < 1:
        raise SystemExit(f"--warmup and --steps must be >= 1, got {args.warmup} and {args.steps}")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    name = device_name(args.device)
    steps = {setup: step_figures(setup, args, args.device) for setup in ("Lu", "Uu")}
    dim = steps["Lu"]["embed_dim"]  # D of the embeddings the global loss gathers
    figures = {"device": name, "peak_bf16": peak_bf16(name), "steps": steps,
               "gather": gather_figures(args.world, args.backend, args.batch, dim, args.gather_iters),
               "embedder": embedder_figures(args)}
    report(figures, args)
    return figures


if __name__ == "__main__":
    main()
