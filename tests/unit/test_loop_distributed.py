"""The training loop on 2 gloo processes (forked, no Ray): what it logs and what it trains, against one process."""

import itertools
import os
import socket
from typing import get_args

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from litlab.config import Objective, Optim
from litlab.distributed import all_gather_with_grad
from litlab.loop import _contrastive, accumulate, train
from litlab.losses import contrastive_loss
from tiny_two_tower import batch_at, tiny_model
from torch import nn

ROWS = 4  # per worker


def model_for(cfg: Optim) -> nn.Module:
    """The Lu tiny model without dropout (deterministic), with a logit bias for the sigmoid objective."""
    return tiny_model("Lu", dropout=0.0, bias_init=-10.0 if cfg.objective == "sigmoid" else None)


def rows_of(rank: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v[rank * ROWS:(rank + 1) * ROWS] for k, v in batch.items()}


def _train_worker(rank: int, world: int, port: int, cfg: Optim, out) -> None:
    """One DDP worker training on its own rows of each step's batch; records what it logged."""
    torch.set_num_threads(1)  # first, in a forked child
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    ddp = nn.parallel.DistributedDataParallel(model_for(cfg))
    batches = (rows_of(rank, batch_at(s, rows=world * ROWS)) for s in itertools.count())
    logged = []
    train(ddp, batches, cfg, log=lambda s, m: logged.append(m), log_every=1, gather=all_gather_with_grad,
          rank=rank, world_size=world)
    out[rank] = logged
    dist.destroy_process_group()


def _gradient_worker(rank: int, world: int, port: int, cfg: Optim, out) -> None:
    """One DDP worker: the loop's loss and backward (``accumulate``) on its rows of one batch; records the gradients
    DDP leaves on the parameters."""
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    model = model_for(cfg)
    ddp = nn.parallel.DistributedDataParallel(model)
    loss_fn = _contrastive(ddp, cfg, all_gather_with_grad, rank, world, "cpu")
    accumulate(ddp.train(), rows_of(rank, batch_at(0, rows=world * ROWS)), 1, loss_fn)
    out[rank] = {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad}
    dist.destroy_process_group()


def run_two_workers(worker, cfg: Optim) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    # fork, not spawn: a spawned child re-imports torch (~10 s on a busy 2-core machine); fork takes < 1 s
    mp.start_processes(worker, args=(2, port, cfg, out), nprocs=2, join=True, start_method="fork")
    return dict(out)


def test_train_loss_is_the_mean_over_workers_not_rank_0s_share():
    out = run_two_workers(_train_worker, Optim(steps=1, warmup_steps=1))
    batch = batch_at(0, rows=2 * ROWS)
    with torch.no_grad():
        model = tiny_model("Lu", dropout=0.0).train()
        zimg, ztxt, scale = model(batch["image"], batch["ids"], batch["mask"])[:3]
        whole = contrastive_loss(zimg, ztxt, scale).item()  # one process on the concatenated batch
        parts = iter([zimg, ztxt])
        rank0_share = contrastive_loss(zimg[:ROWS], ztxt[:ROWS], scale, gather=lambda x: next(parts)).item()
    for rank in (0, 1):
        assert out[rank][0]["train/loss"] == pytest.approx(whole, rel=1e-5)
    assert abs(rank0_share - whole) > 1e-3  # the check above tells the mean from rank 0's share


@pytest.mark.parametrize("objective", get_args(Objective))
def test_ddp_gradients_with_global_negatives_equal_one_process_on_the_whole_batch(objective):
    """Through the loop's own loss (the sigmoid ring, the softmax all-gather) and DDP's averaging: every trainable
    parameter's gradient (text tower, both heads, temperature, and the sigmoid's bias) equals one process's."""
    cfg = Optim(objective=objective)
    out = run_two_workers(_gradient_worker, cfg)
    model = model_for(cfg)
    accumulate(model.train(), batch_at(0, rows=2 * ROWS), 1, _contrastive(model, cfg, None, 0, 1, "cpu"))
    ref = {name: p.grad for name, p in model.named_parameters() if p.requires_grad}
    assert ("logit_bias" in ref) == (objective == "sigmoid") and "text_head.weight" in ref
    assert out[0].keys() == ref.keys()
    for name, grad in ref.items():
        for rank in (0, 1):
            torch.testing.assert_close(out[rank][name], grad, rtol=1e-5, atol=1e-7, msg=lambda m, n=name: f"{n}: {m}")
