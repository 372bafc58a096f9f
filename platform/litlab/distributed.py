"""torch.distributed helpers (pure torch, no Ray): an all-gather that keeps gradients, and one of tensors of
unequal lengths."""

from __future__ import annotations

import torch
import torch.distributed as dist


class _AllGather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # (B, D) -> (W*B, D)
        ctx.rank, ctx.batch = dist.get_rank(), x.shape[0]
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, 0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)  # every worker's loss depends on every worker's embeddings
        return grad[ctx.rank * ctx.batch:(ctx.rank + 1) * ctx.batch]


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate (B, D) from every worker in rank order; gradients flow back to each worker's own rows."""
    return _AllGather.apply(x)


def world() -> tuple[int, int]:
    """(rank, world_size); (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard_indices(n: int, rank: int, world_size: int) -> range:
    """The rows of an n-row evaluation set that ``rank`` embeds: rank, rank + W, rank + 2W, ..."""
    return range(rank, n, world_size)


@torch.no_grad()
def gather_in_order(local: torch.Tensor, n: int) -> torch.Tensor:
    """(n, D) on every rank from each rank's ``shard_indices`` rows (n_local, D), in the original row order."""
    rank, size = world()
    if size == 1:
        return local
    sizes = [len(shard_indices(n, r, size)) for r in range(size)]
    if local.shape[0] != sizes[rank]:
        raise ValueError(f"rank {rank} holds {local.shape[0]} rows; shard_indices gives it {sizes[rank]} of {n}")
    out = torch.empty((n, *local.shape[1:]), dtype=local.dtype, device=local.device)
    for r, part in enumerate(gather_ragged(local, sizes)):
        out[r::size] = part
    return out


def gather_ragged(local: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """Every rank's ``local`` (sizes[r], ...), in rank order: each padded to the largest for one all_gather, then
    cut back to its size. ``sizes`` must be the same list on every rank (each rank's local.shape[0])."""
    padded = torch.zeros((max(sizes), *local.shape[1:]), dtype=local.dtype, device=local.device)
    padded[:local.shape[0]] = local
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return [part[:k] for part, k in zip(parts, sizes, strict=True)]
