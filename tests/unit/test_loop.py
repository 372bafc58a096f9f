import io
import itertools
import os
import socket
import warnings
from typing import get_args

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from litlab.config import Objective, Optim
from litlab.distributed import all_gather_with_grad
from litlab.loop import _precision, accumulate, step_seed, train
from litlab.losses import contrastive_loss
from litlab.optim import warmup_cosine
from tiny_two_tower import batch_at, tiny_model
from torch import nn

torch.set_num_threads(1)


def data(start: int = 0):
    return (batch_at(s) for s in itertools.count(start))


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]


def no_log(step: int, metrics: dict[str, float]) -> None:
    return None


@pytest.mark.parametrize("objective", get_args(Objective))
def test_loss_falls_and_logs_every_metric(objective):
    logged, sigmoid = [], objective == "sigmoid"
    last = train(tiny_model(bias_init=-10.0 if sigmoid else None), itertools.repeat(batch_at(0)),
                 Optim(steps=30, lr=1e-2, warmup_steps=3, objective=objective), log=lambda s, m: logged.append((s, m)),
                 log_every=10)
    assert [s for s, _ in logged] == [10, 20, 30]
    assert set(last) == {"train/loss", "train/temperature", "train/lr", "train/grad_norm", "train/pairs_per_s",
                         *(["train/bias"] if sigmoid else [])}
    assert logged[-1][1]["train/loss"] < 0.5 * logged[0][1]["train/loss"]


def test_running_out_of_data_is_an_error():
    with pytest.raises(RuntimeError, match="ran out after 2 of 5 steps"):
        train(tiny_model(), itertools.islice(data(), 2), Optim(steps=5, warmup_steps=1), log=no_log)


def test_warmup_then_cosine():
    cfg = Optim(steps=110, warmup_steps=10)
    assert warmup_cosine(0, cfg) == pytest.approx(0.1) and warmup_cosine(9, cfg) == pytest.approx(1.0)
    assert warmup_cosine(60, cfg) == pytest.approx(0.5) and warmup_cosine(110, cfg) == pytest.approx(0.0)


def test_evaluate_and_checkpoint_run_every_n_steps_before_the_last():
    evals, ckpts = [], []
    train(tiny_model("Lu"), data(), Optim(steps=7, warmup_steps=1), log=no_log, log_every=7,
          evaluate=lambda step: evals.append(step), eval_every=3,
          checkpoint=lambda step, state: ckpts.append((step, sorted(state))), checkpoint_every=2)
    assert evals == [3, 6]  # the caller evaluates the last step itself
    assert ckpts == [(2, ["optimizer", "schedule"]), (4, ["optimizer", "schedule"]), (6, ["optimizer", "schedule"])]


def test_same_seed_is_bit_identical_and_another_seed_is_not():
    cfg = Optim(steps=5, warmup_steps=1)
    runs = []
    for seed in (7, 7, 8):
        model = tiny_model()
        train(model, data(), cfg, log=no_log, seed=seed)
        runs.append(weights(model))
    assert_identical(runs[0], runs[1])
    assert not torch.equal(runs[0]["text.proj.weight"], runs[2]["text.proj.weight"])  # dropout masks differ
    assert step_seed(7, 0, 3) != step_seed(7, 1, 3) != step_seed(7, 0, 4)


class Preempted(Exception):
    pass


@pytest.mark.parametrize("name", ["adamw", "adafactor"])
def test_checkpoint_and_resume_equals_an_uninterrupted_run(name):
    # 10 steps; the image tower unlocks at step 4; two micro-batches per step; dropout in the text tower
    cfg = Optim(name=name, steps=10, warmup_steps=3, lr=1e-2, unlock_image_at=4, accum_steps=2, image_lr_mult=0.5)
    full_log, full = [], tiny_model("Lu")
    train(full, data(), cfg, log=lambda s, m: full_log.append((s, m)), log_every=1, seed=3)

    saved, first_log = io.BytesIO(), []

    def checkpoint_then_die(step: int, state: dict) -> None:
        torch.save({"model": first.state_dict(), "step": step, **state}, saved)
        raise Preempted

    first = tiny_model("Lu")
    with pytest.raises(Preempted):
        train(first, data(), cfg, log=lambda s, m: first_log.append((s, m)), log_every=1, seed=3,
              checkpoint=checkpoint_then_die, checkpoint_every=6)
    saved.seek(0)
    ckpt = torch.load(saved, weights_only=True)
    resumed, resumed_log = tiny_model("Lu"), []
    resumed.load_state_dict(ckpt["model"])
    train(resumed, data(ckpt["step"]), cfg, log=lambda s, m: resumed_log.append((s, m)), log_every=1, seed=3,
          start_step=ckpt["step"], state=ckpt)
    assert_identical(weights(resumed), weights(full))
    keys = ("train/loss", "train/temperature", "train/lr", "train/grad_norm")  # not pairs_per_s: a timing
    assert [(s, [m[k] for k in keys]) for s, m in first_log + resumed_log] == \
           [(s, [m[k] for k in keys]) for s, m in full_log]


def test_delayed_unlock_freezes_then_trains_the_image_tower():
    cfg = Optim(steps=6, warmup_steps=2, lr=1e-2, unlock_image_at=3, image_lr_mult=0.5)
    model = tiny_model("Lu")
    initial = {k: v.clone() for k, v in model.image.state_dict().items()}  # BatchNorm statistics included
    image_params = len(list(model.image.parameters()))
    seen = {}

    def record(step: int, state: dict) -> None:
        groups = {g["name"]: g for g in state["optimizer"]["param_groups"]}
        seen[step] = (weights(model.image), len(state["optimizer"]["state"]), groups, model.image.training)

    trainable = len([p for p in model.parameters() if p.requires_grad])
    train(model, data(), cfg, log=no_log, checkpoint=record, checkpoint_every=1)
    for step in (1, 2, 3):  # steps 0, 1, 2 done: locked, in eval mode, no optimizer state
        assert_identical(seen[step][0], initial)
        assert seen[step][1] == trainable and "image" not in seen[step][2] and not seen[step][3]
    assert not torch.equal(seen[4][0]["proj.weight"], initial["proj.weight"])  # step 3 trained it
    assert not torch.equal(seen[4][0]["norm.running_mean"], initial["norm.running_mean"])  # in train mode
    assert seen[4][1] == trainable + image_params and seen[4][3]
    image = seen[4][2]["image"]
    assert image["base_lr"] == pytest.approx(0.5e-2) and image["lr"] == pytest.approx(0.5e-2 * warmup_cosine(4, cfg))
    assert "image" not in model.locked and all(p.requires_grad for p in model.image.parameters())


def test_unlocking_a_tower_that_is_not_locked_is_an_error():
    with pytest.raises(ValueError, match="optim.unlock_image_at=2 needs a locked image tower"):
        train(tiny_model("Uu"), data(), Optim(steps=3, warmup_steps=1, unlock_image_at=2), log=no_log)


def squared_error(model: nn.Module):
    """A per-example loss (it decomposes over rows), in accumulate's (loss, logit_scale) form."""
    return lambda batch: (((model(batch["x"]) - batch["y"]) ** 2).mean(), torch.zeros(()))


def test_accumulated_gradient_equals_big_batch_gradient_for_a_per_example_loss():
    x, y = torch.randn(8, 3, generator=torch.Generator().manual_seed(0)), torch.arange(8.0)[:, None]  # (8, 3), (8, 1)
    grads = []
    for k in (1, 2, 4):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        loss, _ = accumulate(model, {"x": x, "y": y}, k, squared_error(model))
        grads.append((loss, model.weight.grad.clone(), model.bias.grad.clone()))
    torch.manual_seed(0)
    plain = nn.Linear(3, 1)
    squared_error(plain)({"x": x, "y": y})[0].backward()
    assert torch.equal(plain.weight.grad, grads[0][1]) and torch.equal(plain.bias.grad, grads[0][2])  # K=1: unchanged
    for loss, gw, gb in grads[1:]:
        torch.testing.assert_close(loss, grads[0][0])
        torch.testing.assert_close(gw, grads[0][1])
        torch.testing.assert_close(gb, grads[0][2])
    assert not torch.equal(grads[0][1], torch.zeros_like(grads[0][1]))


def test_accumulated_contrastive_loss_only_sees_micro_batch_negatives():
    model, batch = tiny_model(dropout=0.0), batch_at(0)
    ref = tiny_model(dropout=0.0).train()  # BatchNorm in train mode: statistics of each micro-batch, as in the loop
    with torch.no_grad():
        halves = [contrastive_loss(*ref(b["image"], b["ids"], b["mask"])[:3])
                  for b in ({k: v[:4] for k, v in batch.items()}, {k: v[4:] for k, v in batch.items()})]
        whole = contrastive_loss(*ref(batch["image"], batch["ids"], batch["mask"])[:3])
    logged = []
    train(model, [batch], Optim(steps=1, warmup_steps=1, accum_steps=2), log=lambda s, m: logged.append(m))
    assert logged[0]["train/loss"] == pytest.approx(((halves[0] + halves[1]) / 2).item(), rel=1e-6)
    assert logged[0]["train/loss"] != pytest.approx(whole.item(), rel=1e-3)


def test_accum_steps_must_divide_the_batch():
    with pytest.raises(ValueError, match="8 rows cannot be split into optim.accum_steps=3"):
        train(tiny_model(), data(), Optim(steps=2, warmup_steps=1, accum_steps=3), log=no_log)


def test_bf16_is_ignored_on_cpu_with_one_warning():
    runs = []
    for bf16 in (False, True):
        model = tiny_model()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train(model, data(), Optim(steps=3, warmup_steps=1, bf16=bf16), log=no_log)
        runs.append(weights(model))
        assert len([w for w in caught if "optim.bf16 is ignored on cpu" in str(w.message)]) == (1 if bf16 else 0)
    assert_identical(runs[0], runs[1])


def test_bf16_on_cuda_autocasts_the_towers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "CUDA is not available" on a CPU-only machine: only the choice is tested
        ctx = _precision(True, torch.device("cuda", 0))()  # Ray's get_device() gives cuda:N
    assert isinstance(ctx, torch.autocast) and ctx.device == "cuda" and ctx.fast_dtype == torch.bfloat16


def _ddp_worker(rank: int, world: int, port: int, out) -> None:
    torch.set_num_threads(1)  # first, in a forked child (as DataLoader workers do)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    model = tiny_model("Lu")
    ddp = nn.parallel.DistributedDataParallel(model)  # wrapped while the image tower is locked
    batches = (batch_at(100 * rank + s, rows=4) for s in itertools.count())  # each worker its own data
    train(ddp, batches, Optim(steps=3, warmup_steps=1, lr=1e-2, unlock_image_at=1), log=no_log,
          gather=all_gather_with_grad, rank=rank, world_size=world)
    out[rank] = weights(model)
    dist.destroy_process_group()


def test_a_tower_unlocked_under_ddp_stays_identical_on_every_worker():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    # fork, not spawn: a spawned child re-imports torch (~10 s on a busy 2-core machine); fork takes < 1 s
    mp.start_processes(_ddp_worker, args=(2, port, out), nprocs=2, join=True, start_method="fork")
    initial = tiny_model("Lu").state_dict()
    assert not torch.equal(out[0]["image.proj.weight"], initial["image.proj.weight"])
    for key in ("image.proj.weight", "image.proj.bias", "text.proj.weight", "logit_scale"):
        torch.testing.assert_close(out[0][key], out[1][key], rtol=0, atol=1e-7)
