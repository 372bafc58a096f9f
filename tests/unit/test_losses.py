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
    g = torch.Generator().manual_seed(3)
    z = F.normalize(torch.randn(16, 32, generator=g), dim=-1)  # (16, 32)
    scale = torch.tensor(50.0)
    assert contrastive_loss(z, z, scale) < 0.01
    assert contrastive_loss(z, z[torch.randperm(16, generator=g)], scale) > 1.0


def _worker(rank: int, world: int, port: int, zimg: torch.Tensor, ztxt: torch.Tensor, out) -> None:
    """Each rank takes its half of the batch and records (loss, grad zimg, grad ztxt) for both negatives."""
    torch.set_num_threads(1)  # first, in a forked child (as DataLoader workers do)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    b = zimg.shape[0] // world
    for negatives in ("global", "worker"):
        zi = zimg[rank * b:(rank + 1) * b].clone().requires_grad_(True)  # (B, D)
        zt = ztxt[rank * b:(rank + 1) * b].clone().requires_grad_(True)  # (B, D)
        loss = contrastive_loss(zi, zt, torch.tensor(10.0), gather=all_gather_with_grad, rank=rank,
                                negatives=negatives)
        (loss / world).backward()  # DDP averages over workers
        out[(negatives, rank)] = (loss.detach(), zi.grad, zt.grad)
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_workers():
    """One 2-process gloo run on a batch of 8 (4 rows per worker), shared by the global and worker tests."""
    torch.manual_seed(1)
    zimg = F.normalize(torch.randn(8, 4), dim=-1)  # (8, 4)
    ztxt = F.normalize(torch.randn(8, 4), dim=-1)  # (8, 4)
    out = mp.Manager().dict()
    # fork, not spawn: a spawned child re-imports torch (~10 s on a busy 2-core machine); fork takes < 1 s
    mp.start_processes(_worker, args=(2, _free_port(), zimg, ztxt, out), nprocs=2, join=True, start_method="fork")
    return zimg, ztxt, dict(out)


def test_global_loss_and_gradients_equal_single_process_on_2_gloo_workers(two_workers):
    zimg, ztxt, out = two_workers
    ref_i, ref_t = zimg.clone().requires_grad_(True), ztxt.clone().requires_grad_(True)
    ref = contrastive_loss(ref_i, ref_t, torch.tensor(10.0))
    ref.backward()
    assert torch.stack([out[("global", r)][0] for r in range(2)]).mean().item() == pytest.approx(ref.item(), rel=1e-5)
    torch.testing.assert_close(torch.cat([out[("global", r)][1] for r in range(2)]), ref_i.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(torch.cat([out[("global", r)][2] for r in range(2)]), ref_t.grad, rtol=1e-4, atol=1e-6)


def test_worker_negatives_loss_equals_mean_of_per_shard_single_process_losses_on_2_gloo_workers(two_workers):
    zimg, ztxt, out = two_workers
    ref_i, ref_t = zimg.clone().requires_grad_(True), ztxt.clone().requires_grad_(True)
    shards = [contrastive_loss(ref_i[r * 4:(r + 1) * 4], ref_t[r * 4:(r + 1) * 4], torch.tensor(10.0))
              for r in range(2)]  # one single-process loss per worker's 4 rows
    torch.stack(shards).mean().backward()
    for r in range(2):
        assert out[("worker", r)][0].item() == pytest.approx(shards[r].item(), rel=1e-6)
    torch.testing.assert_close(torch.cat([out[("worker", r)][1] for r in range(2)]), ref_i.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(torch.cat([out[("worker", r)][2] for r in range(2)]), ref_t.grad, rtol=1e-4, atol=1e-6)
    global_mean = torch.stack([out[("global", r)][0] for r in range(2)]).mean()
    assert global_mean > torch.stack(shards).mean() + 0.05  # more negatives, a harder task: the options differ


def test_worker_negatives_ignore_gather_and_rank():
    z = F.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(2)), dim=-1)  # (4, 8)

    def fail(x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("the worker-negatives loss must not gather")

    own = contrastive_loss(z, z.flip(0), torch.tensor(10.0), gather=fail, rank=3, negatives="worker")
    assert own.item() == contrastive_loss(z, z.flip(0), torch.tensor(10.0)).item()
    with pytest.raises(ValueError, match="unknown negatives 'local' .*valid: global, worker"):
        contrastive_loss(z, z, torch.tensor(10.0), negatives="local")
