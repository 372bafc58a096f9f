"""Peak memory of the global sigmoid loss over W workers: the ring (litlab.losses_sigmoid) vs gathering every text.

Run:
    python experiments/benchmarks/sigmoid_memory.py                       # the four default (W, B, D) below
    python experiments/benchmarks/sigmoid_memory.py --configs 2x256x64    # one quick configuration (W x B x D)

For each configuration, W gloo processes (forked, on this machine) each hold B rows of L2-normalised (B, D) image
and text embeddings and take one forward and backward of their share of the global sigmoid loss, both ways, one
after the other in the same processes:
  ring    ``litlab.losses_sigmoid.sigmoid_loss``: text chunks passed round the workers one at a time, each (B, B)
          block recomputed in the backward;
  gather  ``litlab.distributed.all_gather_with_grad`` of the texts (W*B, D), the (B, W*B) logits at once, autograd's
          backward: the plain way (open_clip's "gather" variant is the same idea).
Both give the same loss and gradients (checked, the largest difference printed). Memory is rank 0's peak of the
bytes of tensor storages alive at once that the step created: a TorchDispatchMode sees every tensor an op returns,
and a storage counts until it is freed (activations, tensors saved for backward, received chunks, gradients; not
the inputs, gloo's own buffers or the allocator's slack). Prints each peak, gather/ring, the sizes that explain
them (the gathered texts, the (B, W*B) logits), and the seconds per step of each (median of --repeats untracked
steps, alternated). About 3 minutes on a 2-core CPU with the defaults (W = 8 runs 8 processes on the 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from figures import report
from litlab.distributed import all_gather_with_grad
from litlab.losses_sigmoid import sigmoid_loss
from ranks import join, run_ranks
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

DEFAULTS = ("2x1024x256", "4x1024x256", "8x1024x256", "4x2048x512")
MB = 2**20
Inputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class LivePeak(TorchDispatchMode):
    """Peak bytes of the storages alive at once among those created under this mode."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[StorageWeakRef, int] = {}
        self.now = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for ref in [r for r in self.live if r.expired()]:  # freed since the last op
            self.now -= self.live.pop(ref)
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                ref = StorageWeakRef(storage)
                if ref not in self.live:
                    self.live[ref] = storage.nbytes()
                    self.now += storage.nbytes()
        self.peak = max(self.peak, self.now)
        return out


def gathered_loss(zimg: torch.Tensor, ztxt: torch.Tensor, t: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Worker k's share of the global sigmoid loss from all W*B texts at once."""
    rank, rows = dist.get_rank(), zimg.shape[0]
    all_txt = all_gather_with_grad(ztxt)  # (W*B, D)
    logits = t * zimg @ all_txt.T + b  # (B, W*B)
    labels = -torch.ones_like(logits)
    labels[:, rank * rows:(rank + 1) * rows].diagonal().fill_(1.0)  # the positives: this worker's own pairs
    return -F.logsigmoid(labels * logits).sum() / rows


def step(loss_fn: Callable[..., torch.Tensor], data: Inputs,
         tracker: LivePeak | None = None) -> tuple[torch.Tensor, ...]:
    """One forward and backward on fresh leaves of ``data``; under ``tracker`` (the leaves are made outside it)."""
    inputs = [x.detach().clone().requires_grad_(True) for x in data]
    with tracker or contextlib.nullcontext():
        loss = loss_fn(*inputs)
        loss.backward()
    return (loss.detach(), *(x.grad for x in inputs))


def _worker(rank: int, world: int, port: int, out, rows: int, dim: int, repeats: int) -> None:
    join(rank, world, port)
    g = torch.Generator().manual_seed(rank)
    data = (F.normalize(torch.randn(rows, dim, generator=g), dim=-1), F.normalize(torch.randn(rows, dim, generator=g),
            dim=-1), torch.tensor(10.0), torch.tensor(-10.0))
    ways = {"ring": lambda *x: sigmoid_loss(*x, world_size=world), "gather": gathered_loss}
    peaks, results, seconds = {}, {}, {name: [] for name in ways}
    for name, fn in ways.items():
        tracker = LivePeak()
        results[name] = step(fn, data, tracker)
        peaks[name] = tracker.peak
    for _ in range(repeats):
        for name, fn in ways.items():
            dist.barrier()
            tic = time.perf_counter()
            step(fn, data)
            seconds[name].append(time.perf_counter() - tic)
    diff = max((a - b).abs().max().item() for a, b in zip(results["ring"], results["gather"], strict=True))
    if rank == 0:
        out["result"] = (peaks, seconds, diff)
    dist.destroy_process_group()


def measure(world: int, rows: int, dim: int, repeats: int) -> tuple[dict[str, int], dict[str, list[float]], float]:
    return run_ranks(_worker, world, rows, dim, repeats)["result"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", nargs="+", default=list(DEFAULTS), help="W x B x D (workers, rows each, dimension)")
    p.add_argument("--repeats", type=int, default=3, help="timed steps of each way, alternated")
    args = p.parse_args()
    print(f"{'W':>2} {'B':>5} {'D':>4} | {'texts W*B*D':>11} {'logits B*W*B':>12} | {'ring MB':>8} {'gather MB':>9} "
          f"{'gather/ring':>11} | {'ring s':>7} {'gather s':>8} {'ring/gather':>11} | max |diff|")
    rows_of: dict[str, tuple[dict[str, int], dict[str, list[float]]]] = {}
    for config in args.configs:
        world, rows, dim = (int(x) for x in config.lower().split("x"))
        peaks, times, diff = measure(world, rows, dim, args.repeats)
        secs = {k: statistics.median(v) for k, v in times.items()}
        texts, logits = world * rows * dim * 4 / MB, rows * world * rows * 4 / MB
        print(f"{world:>2} {rows:>5} {dim:>4} | {texts:>8.1f} MB {logits:>9.1f} MB | {peaks['ring'] / MB:>8.1f} "
              f"{peaks['gather'] / MB:>9.1f} {peaks['gather'] / peaks['ring']:>10.2f}x | {secs['ring']:>7.3f} "
              f"{secs['gather']:>8.3f} {secs['ring'] / secs['gather']:>10.2f}x | {diff:.1e}", flush=True)
        rows_of[config] = (peaks, times)
    print(f"\nmedian [min-max] over {args.repeats} alternated steps (memory: one tracked step each way):")
    for config, (peaks, times) in rows_of.items():
        report(f"gather/ring peak memory {config}", [peaks["gather"] / peaks["ring"]], unit="x")
        report(f"ring/gather seconds per step {config}",
               [r / g for r, g in zip(times["ring"], times["gather"], strict=True)], unit="x")


if __name__ == "__main__":
    main()
