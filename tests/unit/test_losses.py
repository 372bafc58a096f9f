import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from litlab.distributed import all_gather_with_grad
from litlab.losses import contrastive_loss


def naive_loss(zimg, ztxt, scale):
    """Reference: average of per-row cross-entropies, written with explicit loops."""
    n, total = zimg.shape[0], 0.0
    for i in range(n):
        row_i2t = torch.stack([scale * zimg[i] @ ztxt[j] for j in range(n)])
        row_t2i = torch.stack([scale * ztxt[i] @ zimg[j] for j in range(n)])
        total = total - 0.5 * (torch.log_softmax(row_i2t, 0)[i] + torch.log_softmax(row_t2i, 0)[i])
    return total / n


def test_matches_naive_reference():
    g = torch.Generator().manual_seed(0)
    zimg = F.normalize(torch.randn(6, 8, generator=g), dim=-1)
    ztxt = F.normalize(torch.randn(6, 8, generator=g), dim=-1)
    scale = torch.tensor(10.0)
    assert contrastive_loss(zimg, ztxt, scale).item() == pytest.approx(naive_loss(zimg, ztxt, scale).item(), rel=1e-5)


def test_aligned_pairs_score_lower_than_shuffled():
    z = F.normalize(torch.randn(16, 32), dim=-1)
    scale = torch.tensor(50.0)
    assert contrastive_loss(z, z, scale) < 0.01
    assert contrastive_loss(z, z[torch.randperm(16)], scale) > 1.0


def _worker(rank: int, world: int, port: int, zimg: torch.Tensor, ztxt: torch.Tensor, out) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    b = zimg.shape[0] // world
    zi = zimg[rank * b:(rank + 1) * b].clone().requires_grad_(True)
    zt = ztxt[rank * b:(rank + 1) * b].clone().requires_grad_(True)
    loss = contrastive_loss(zi, zt, torch.tensor(10.0), gather=all_gather_with_grad, rank=rank)
    (loss / world).backward()  # DDP averages over workers
    out[rank] = (loss.detach(), zi.grad, zt.grad)
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_global_loss_and_gradients_equal_single_process_on_2_gloo_workers():
    torch.manual_seed(1)
    zimg = F.normalize(torch.randn(8, 4), dim=-1)
    ztxt = F.normalize(torch.randn(8, 4), dim=-1)
    ref_i, ref_t = zimg.clone().requires_grad_(True), ztxt.clone().requires_grad_(True)
    ref = contrastive_loss(ref_i, ref_t, torch.tensor(10.0))
    ref.backward()
    out = mp.Manager().dict()
    mp.spawn(_worker, args=(2, _free_port(), zimg, ztxt, out), nprocs=2, join=True)
    assert torch.stack([out[r][0] for r in range(2)]).mean().item() == pytest.approx(ref.item(), rel=1e-5)
    torch.testing.assert_close(torch.cat([out[r][1] for r in range(2)]), ref_i.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(torch.cat([out[r][2] for r in range(2)]), ref_t.grad, rtol=1e-4, atol=1e-6)
