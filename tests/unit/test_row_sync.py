"""Token tables averaged by their touched rows (litlab.row_sync) on 2 gloo processes (forked, no Ray): the same
gradients and the same trained weights as DDP averaging the whole table."""

import itertools
import os

import pytest
import torch
import torch.distributed as dist
from litlab.config import Optim, RunConfig, apply_overrides
from litlab.distributed import all_gather_with_grad
from litlab.loop import _contrastive, accumulate, train
from litlab.models.build import build_model
from litlab.row_sync import average_rows, exclude_token_tables, left_to_us, token_tables
from test_loop_distributed import ROWS, rows_of, run_two_workers
from tiny_two_tower import batch_at, tiny_model
from torch import nn

TABLE = "text.embed.weight"  # the tiny model's 32-row token table (min_rows=1 makes it one)


def _wrapped(by_rows: bool) -> tuple[nn.Module, nn.Module]:
    model = tiny_model("uu", dropout=0.0)
    if by_rows:
        assert exclude_token_tables(model, min_rows=1) == [TABLE]
    return model, nn.parallel.DistributedDataParallel(model)


def _init(rank: int, world: int, port: int) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)


def _gradients(rank: int, world: int, port: int, by_rows: bool, out) -> None:
    """One step's backward; rank 1's captions use other token ids than rank 0's, so the touched rows differ."""
    _init(rank, world, port)
    model, ddp = _wrapped(by_rows)
    batch = rows_of(rank, batch_at(0, rows=world * ROWS))
    batch["ids"] = batch["ids"] % 12 + 16 * rank  # rank 0: ids 0-11, rank 1: 16-27 (ids 12-15, 28-31 untouched)
    accumulate(ddp.train(), batch, 1, _contrastive(ddp, Optim(), all_gather_with_grad, rank, world, "cpu"))
    average_rows(left_to_us(ddp), world)
    out[rank] = {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad}
    dist.destroy_process_group()


def _training(rank: int, world: int, port: int, by_rows: bool, out) -> None:
    """Three steps of the loop; the weights after them."""
    _init(rank, world, port)
    model, ddp = _wrapped(by_rows)
    batches = (rows_of(rank, batch_at(s, rows=world * ROWS)) for s in itertools.count())
    train(ddp, batches, Optim(steps=3, warmup_steps=1), log=lambda s, m: None, gather=all_gather_with_grad,
          rank=rank, world_size=world)
    out[rank] = {name: p.detach().clone() for name, p in model.named_parameters()}
    dist.destroy_process_group()


def _two(worker, by_rows: bool) -> dict:
    return run_two_workers(lambda rank, world, port, _, out: worker(rank, world, port, by_rows, out), None)


def test_gradients_by_touched_rows_equal_ddp_bit_for_bit():
    dense, rows = _two(_gradients, False), _two(_gradients, True)
    for rank in (0, 1):
        assert rows[rank].keys() == dense[rank].keys()
        for name, grad in dense[rank].items():
            assert torch.equal(rows[rank][name], grad), name
    table = dense[0][TABLE]
    assert table[12:16].abs().sum() == 0 and table[28:].abs().sum() == 0  # untouched rows: zero after the average
    assert table[:12].abs().sum() > 0 and table[16:28].abs().sum() > 0  # each rank's rows reached the other


def test_training_with_token_tables_by_rows_gives_ddps_weights():
    dense, rows = _two(_training, False), _two(_training, True)
    for name, weight in dense[0].items():
        assert torch.equal(rows[0][name], weight), name
        assert torch.equal(rows[1][name], weight), name  # the workers stay in step


def _hooked_table() -> nn.Embedding:
    holder = nn.Module()
    holder.table = nn.Embedding(6, 3)
    assert exclude_token_tables(holder, min_rows=1) == ["table.weight"]
    return holder.table


def _pair(table: nn.Embedding) -> list:
    return [(table.weight, table.looked_up)]


def _unused_on_one_rank(rank: int, world: int, port: int, _, out) -> None:
    _init(rank, world, port)
    table = _hooked_table()
    if rank == 0:
        table(torch.tensor([2, 2])).sum().mul(2.0).backward()  # row 2's gradient: 4 on rank 0, none on rank 1
    average_rows(_pair(table), world)
    out[rank] = table.weight.grad.clone()
    dist.destroy_process_group()


def test_a_table_without_gradient_on_one_rank_counts_as_zero():
    out = _two(_unused_on_one_rank, False)
    expected = torch.zeros(6, 3)
    expected[2] = 2.0
    assert torch.equal(out[0], expected) and torch.equal(out[1], expected)


def _unused_everywhere(rank: int, world: int, port: int, _, out) -> None:
    _init(rank, world, port)
    table = _hooked_table()
    average_rows(_pair(table), world)  # no lookups on any rank: nothing to exchange, no collective on 0 rows
    out[rank] = table.weight.grad.clone()
    dist.destroy_process_group()


def test_a_table_no_rank_looked_up_keeps_a_zero_gradient():
    out = _two(_unused_everywhere, False)
    assert torch.equal(out[0], torch.zeros(6, 3)) and torch.equal(out[1], torch.zeros(6, 3))


def test_a_weight_read_outside_the_tables_forward_is_refused_on_the_first_step():
    table = _hooked_table()
    (table(torch.tensor([1])).sum() + table.weight[4].sum()).backward()  # row 4 read directly, not looked up
    with pytest.raises(RuntimeError, match=r"1 row\(s\) its forward never looked up \(e.g. row 4\)"):
        average_rows(_pair(table), 1)


def test_lookups_under_no_grad_are_not_recorded():
    table = _hooked_table()
    with torch.no_grad():
        table(torch.tensor([3]))  # an evaluation
    table(torch.tensor([5])).sum().backward()
    assert table.looked_up.take(torch.device("cpu")).tolist() == [5]


def test_a_table_another_kind_of_module_also_holds_stays_with_ddp():
    model = nn.Module()
    model.embed, model.head = nn.Embedding(2048, 4), nn.Linear(4, 2048, bias=False)
    model.head.weight = model.embed.weight  # tied, as a language model's output layer
    assert token_tables(model) == {}
    model.head.weight = nn.Parameter(torch.zeros(2048, 4))
    assert list(token_tables(model)) == ["embed.weight"]


def test_a_weight_two_tables_hold_is_one_table_recording_both_lookups():
    model = nn.Module()
    model.shared, model.embed_tokens = nn.Embedding(2048, 4), nn.Embedding(2048, 4)
    model.embed_tokens.weight = model.shared.weight  # as T5 ties them
    assert exclude_token_tables(model) == ["shared.weight"]
    assert model.shared.looked_up is model.embed_tokens.looked_up
    (model.shared(torch.tensor([7])).sum() + model.embed_tokens(torch.tensor([9])).sum()).backward()
    assert model.shared.looked_up.take(torch.device("cpu")).tolist() == [7, 9]


@pytest.mark.parametrize(("setup", "tables"), [("Lu", 1), ("LU", 1), ("UL", 0)])
def test_minilms_vocabulary_is_its_only_token_table(setup, tables):
    cfg = apply_overrides(RunConfig(), {"setup": setup, "text.arch": "minilm_l6", "text.tokenizer": "wordpiece_minilm"})
    names = list(token_tables(build_model(cfg)))
    assert len(names) == tables
    assert all(name.endswith("word_embeddings.weight") for name in names)  # not the position or segment tables


def test_a_single_worker_is_left_alone():
    table = _hooked_table()
    table(torch.tensor([0, 1])).sum().backward()
    average_rows(_pair(table), 1)  # no process group needed
    assert torch.equal(table.weight.grad, torch.tensor([[1.0] * 3] * 2 + [[0.0] * 3] * 4))
    assert left_to_us(tiny_model()) == []  # not wrapped in DDP: nothing left to the loop
