"""The training loop on 2 gloo processes (forked, no Ray): what it logs and what it trains, against one process."""

import itertools
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from litlab.config import Optim
from litlab.distributed import all_gather_with_grad
from litlab.loop import train
from litlab.losses import contrastive_loss
from test_loop import batch_at, tiny_model  # the tiny two-tower model of the loop tests (tests/unit is on sys.path)
from torch import nn

ROWS = 4  # per worker


def _worker(rank: int, world: int, port: int, cfg: Optim, out) -> None:
    """One DDP worker of the Lu tiny model (no dropout: deterministic) on its own rows of each step's batch."""
    torch.set_num_threads(1)  # first, in a forked child
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    model = tiny_model("Lu", dropout=0.0)
    ddp = nn.parallel.DistributedDataParallel(model)
    batches = ({k: v[rank * ROWS:(rank + 1) * ROWS] for k, v in batch_at(s, rows=world * ROWS).items()}
               for s in itertools.count())
    logged = []
    train(ddp, batches, cfg, log=lambda s, m: logged.append(m), log_every=1, gather=all_gather_with_grad,
          rank=rank, world_size=world)
    out[rank] = (logged, {k: v.detach().clone() for k, v in model.state_dict().items()})
    dist.destroy_process_group()


def run_two_workers(cfg: Optim) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    # fork, not spawn: a spawned child re-imports torch (~10 s on a busy 2-core machine); fork takes < 1 s
    mp.start_processes(_worker, args=(2, port, cfg, out), nprocs=2, join=True, start_method="fork")
    return dict(out)


def test_train_loss_is_the_mean_over_workers_not_rank_0s_share():
    out = run_two_workers(Optim(steps=1, warmup_steps=1))
    batch = batch_at(0, rows=2 * ROWS)
    with torch.no_grad():
        model = tiny_model("Lu", dropout=0.0).train()
        zimg, ztxt, scale = model(batch["image"], batch["ids"], batch["mask"])[:3]
        whole = contrastive_loss(zimg, ztxt, scale).item()  # one process on the concatenated batch
        parts = iter([zimg, ztxt])
        rank0_share = contrastive_loss(zimg[:ROWS], ztxt[:ROWS], scale, gather=lambda x: next(parts)).item()
    for rank in (0, 1):
        assert out[rank][0][0]["train/loss"] == pytest.approx(whole, rel=1e-5)
    assert abs(rank0_share - whole) > 1e-3  # the check above tells the mean from rank 0's share
