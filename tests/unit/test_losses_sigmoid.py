"""The sigmoid loss: a naive reference, open_clip's SigLipLoss, and the ring on 2 and 3 gloo processes against one
process on the concatenated batch (loss and gradients for both towers' embeddings, the temperature and the bias)."""

import importlib.util
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from litlab.losses_sigmoid import pairwise_sigmoid_loss, sigmoid_loss
from litlab.zoo import package_path

ROWS, DIM = 4, 8  # per worker


def batch(rows: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (rows, DIM) L2-normalised image and text embeddings; text i a noisy copy of image i (real positives)."""
    g = torch.Generator().manual_seed(seed)
    zimg = torch.randn(rows, DIM, generator=g, dtype=dtype)
    ztxt = zimg + 0.8 * torch.randn(rows, DIM, generator=g, dtype=dtype)
    return F.normalize(zimg, dim=-1), F.normalize(ztxt, dim=-1)


def leaves(*tensors: torch.Tensor) -> list[torch.Tensor]:
    return [t.detach().clone().requires_grad_(True) for t in tensors]


def scale_bias(dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(10.0, dtype=dtype), torch.tensor(-10.0, dtype=dtype)  # SigLIP's init: t' = log 10, b = -10


def naive(zimg, ztxt, t, b) -> torch.Tensor:
    """-(1/N) sum_i sum_j log sigmoid(y_ij (t zimg_i . ztxt_j + b)), written as loops over pairs."""
    n = zimg.shape[0]
    terms = [torch.log(torch.sigmoid((1.0 if i == j else -1.0) * (t * zimg[i] @ ztxt[j] + b)))
             for i in range(n) for j in range(n)]
    return -torch.stack(terms).sum() / n


def open_clip_loss_module():
    """open_clip's loss.py loaded alone (its package __init__ pulls in the whole library and its tokenizer's deps)."""
    spec = importlib.util.spec_from_file_location("open_clip_loss_reference", package_path("open_clip", "loss.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_matches_naive_reference_and_learns_from_positives():
    zimg, ztxt = batch(6)
    t, b = torch.tensor(7.0, dtype=torch.float64), torch.tensor(-3.0, dtype=torch.float64)
    assert pairwise_sigmoid_loss(zimg, ztxt, t, b).item() == pytest.approx(naive(zimg, ztxt, t, b).item(), rel=1e-12)
    shuffled = ztxt[torch.tensor([1, 2, 3, 4, 5, 0])]
    assert pairwise_sigmoid_loss(zimg, ztxt, t, b) < pairwise_sigmoid_loss(zimg, shuffled, t, b) - 1.0


def test_equals_open_clips_siglip_loss_and_its_gradients():
    """open_clip's SigLipLoss: logits t * zimg ztxt^T + b, labels 2I - 1, sum of -log sigmoid over the N x N pairs
    divided by N (the images): the same normalisation as ours, so the values compare one to one."""
    reference = open_clip_loss_module().SigLipLoss()
    zimg, ztxt = batch(8, seed=3)
    ours_in, theirs_in = leaves(zimg, ztxt, *scale_bias()), leaves(zimg, ztxt, *scale_bias())
    ours, theirs = pairwise_sigmoid_loss(*ours_in), reference(*theirs_in)
    ours.backward()
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    for a, b in zip(ours_in, theirs_in, strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-14)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, zimg: torch.Tensor, ztxt: torch.Tensor, out) -> None:
    """Each rank takes its ROWS rows; records (loss, grads of zimg, ztxt, t, b) for each variant."""
    torch.set_num_threads(1)  # first, in a forked child
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    rows = slice(rank * ROWS, (rank + 1) * ROWS)
    variants = {"ring": lambda *x: sigmoid_loss(*x, world_size=world),
                "worker": lambda *x: sigmoid_loss(*x, negatives="worker", world_size=world),
                # open_clip's distributed SigLipLoss, default "bidir": texts sent both ways round its ring at once
                # (one single-direction hop for 2 workers, one two-way hop for 3)
                "open_clip": open_clip_loss_module().SigLipLoss(rank=rank, world_size=world)}
    for name, loss_fn in variants.items():
        inputs = leaves(zimg[rows], ztxt[rows], *scale_bias())
        loss = loss_fn(*inputs)
        (loss / world).backward()  # DDP averages gradients over workers
        out[(name, rank)] = (loss.detach(), *(x.grad for x in inputs))
    dist.destroy_process_group()


@pytest.fixture(scope="module", params=[2, 3], ids=["2 workers", "3 workers"])
def workers(request):
    """One gloo run with ``world`` forked processes on one seeded batch of world * ROWS pairs."""
    world = request.param
    zimg, ztxt = batch(world * ROWS, seed=world)
    out = mp.Manager().dict()
    mp.start_processes(_worker, args=(world, _free_port(), zimg, ztxt, out), nprocs=world, join=True,
                       start_method="fork")
    return world, zimg, ztxt, dict(out)


def combined(out: dict, name: str, world: int) -> tuple[torch.Tensor, ...]:
    """What DDP makes of the workers' results: the mean loss, each worker's embedding gradients in row order (they
    stay with their worker), and the temperature's and bias's gradients summed (DDP all-reduces the (loss / W)'s)."""
    parts = [out[(name, r)] for r in range(world)]
    return (torch.stack([p[0] for p in parts]).mean(), torch.cat([p[1] for p in parts]),
            torch.cat([p[2] for p in parts]), sum(p[3] for p in parts), sum(p[4] for p in parts))


def assert_equal_results(got: tuple[torch.Tensor, ...], ref_loss: torch.Tensor, ref_inputs: list[torch.Tensor]):
    torch.testing.assert_close(got[0], ref_loss.detach(), rtol=1e-12, atol=0)
    for name, g, x in zip(("zimg", "ztxt", "t", "b"), got[1:], ref_inputs, strict=True):
        torch.testing.assert_close(g, x.grad, rtol=1e-10, atol=1e-14, msg=lambda m, name=name: f"{name}: {m}")


def test_ring_equals_one_process_on_the_concatenated_batch(workers):
    world, zimg, ztxt, out = workers
    ref_inputs = leaves(zimg, ztxt, *scale_bias())
    ref = pairwise_sigmoid_loss(*ref_inputs)
    ref.backward()
    assert_equal_results(combined(out, "ring", world), ref, ref_inputs)
    assert out[("ring", 0)][0].item() != pytest.approx(ref.item(), rel=1e-3)  # each rank holds only its share


def test_worker_negatives_equal_the_mean_of_single_process_losses_per_worker(workers):
    world, zimg, ztxt, out = workers
    ref_inputs = leaves(zimg, ztxt, *scale_bias())
    shards = [pairwise_sigmoid_loss(ref_inputs[0][r * ROWS:(r + 1) * ROWS], ref_inputs[1][r * ROWS:(r + 1) * ROWS],
                                    *ref_inputs[2:]) for r in range(world)]
    mean = torch.stack(shards).mean()
    mean.backward()
    assert_equal_results(combined(out, "worker", world), mean, ref_inputs)
    assert combined(out, "ring", world)[0] > mean + 0.01  # the other workers' negatives add terms: options differ


def test_ring_equals_open_clips_distributed_siglip_loss_per_worker(workers):
    world, _, _, out = workers
    for rank in range(world):
        for ours, theirs in zip(out[("ring", rank)], out[("open_clip", rank)], strict=True):
            torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-14)


def test_bad_calls_name_the_problem():
    zimg, ztxt = batch(4)
    t, b = scale_bias()
    with pytest.raises(ValueError, match="needs a logit bias: build the model with optim.objective=sigmoid"):
        sigmoid_loss(zimg, ztxt, t, None)
    with pytest.raises(ValueError, match="world_size=2 needs torch.distributed with that many workers, found no"):
        sigmoid_loss(zimg, ztxt, t, b, world_size=2)
    with pytest.raises(ValueError, match="unknown negatives 'local' .*valid: global, worker"):
        sigmoid_loss(zimg, ztxt, t, b, negatives="local")
    assert sigmoid_loss(zimg, ztxt, t, b, negatives="worker", world_size=2) == pairwise_sigmoid_loss(zimg, ztxt, t, b)
