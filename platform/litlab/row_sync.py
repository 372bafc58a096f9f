"""Averaging a token table's gradient over workers by the rows the step looked up (pure torch, no Ray).

A batch's captions touch a few hundred rows of a text tower's vocabulary table (MiniLM: 30,522 x 384, half of its
parameters); every other row's gradient is zero on every worker. DistributedDataParallel all-reduces the whole
table each step anyway (47 MB in float32 for MiniLM). Instead, ``exclude_token_tables`` takes such tables out of
DDP before it wraps the model and records, by a forward pre-hook, the ids each table looks up while gradients are
on; after each backward ``average_rows`` all-gathers those ids and all-reduces the union's rows only. The result is
DDP's average bit for bit: rows no worker looked up have a zero gradient everywhere, and the others are divided by
the world size and summed over workers, as DDP's all-reduce does (tests/unit/test_row_sync.py).
That holds while the table's weight is read only through the forward of the nn.Embedding(s) holding it: a weight
that another kind of module also holds stays with DDP, and the first average checks that no row outside the
looked-up ids has a gradient.
Measured (experiments/benchmarks/row_sync.py, 2 gloo processes of one thread, 2-core CPU, the demo's 64 px MiniLM
step of 2 x 16 pairs): LU 103.0 vs 88.6 pairs/s (1.16x), UU 65.9 vs 59.8 (1.10x).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from litlab.distributed import gather_ragged

VOCAB_ROWS = 1024  # tables at least this tall are vocabularies; position and segment tables stay with DDP


class LookedUp:
    """A token table's forward pre-hook: the ids looked up since the last ``take`` (only while grad is enabled)."""

    def __init__(self) -> None:
        self.ids: list[torch.Tensor] = []
        self.checked = False

    def __call__(self, module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        if torch.is_grad_enabled():
            self.ids.append(args[0].detach().flatten())

    def take(self, device: torch.device) -> torch.Tensor:
        """The distinct ids looked up since the last call (sorted), and forget them."""
        ids, self.ids = self.ids, []
        return torch.unique(torch.cat(ids)).to(device) if ids else torch.empty(0, dtype=torch.long, device=device)


def token_tables(model: nn.Module, min_rows: int = VOCAB_ROWS) -> dict[str, list[nn.Embedding]]:
    """The trainable, dense-gradient vocabulary weights (``nn.Embedding`` with at least ``min_rows`` rows), by name,
    each with the modules that hold it: all of them ``nn.Embedding``s (T5 ties ``shared`` and ``encoder.embed_tokens``),
    else the weight is left out."""
    holders: dict[int, list[nn.Module]] = {}
    for m in model.modules():
        for p in m._parameters.values():
            if p is not None:
                holders.setdefault(id(p), []).append(m)
    out: dict[str, list[nn.Embedding]] = {}
    for name, p in model.named_parameters():  # each weight once, under its first name
        mods = holders.get(id(p), [])
        first = mods[0] if mods else None
        if (isinstance(first, nn.Embedding) and p.requires_grad and first.num_embeddings >= min_rows
                and all(isinstance(m, nn.Embedding) and not m.sparse for m in mods)):
            out[name] = mods
    return out


def exclude_token_tables(model: nn.Module, min_rows: int = VOCAB_ROWS) -> list[str]:
    """Before DDP wraps ``model`` (more than one worker: the loop's ``average_rows`` then empties what the hooks
    record each step): leave its token tables to ``average_rows``, each hooked to record its lookups; returns their
    weights' names."""
    tables = token_tables(model, min_rows)
    for mods in tables.values():
        looked_up = next((m.looked_up for m in mods if hasattr(m, "looked_up")), None) or LookedUp()
        for m in mods:
            if not hasattr(m, "looked_up"):
                m.looked_up = looked_up
                m.register_forward_pre_hook(looked_up)
    if tables:
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, list(tables))
    return list(tables)


def left_to_us(model: nn.Module) -> list[tuple[nn.Parameter, LookedUp]]:
    """The token tables a DDP-wrapped ``model`` does not average (those ``exclude_token_tables`` hooked): each
    weight with its record of lookups."""
    if not isinstance(model, DistributedDataParallel):
        return []
    ignored = set(getattr(model, "parameters_to_ignore", ()))
    hooked = {id(m.weight): m.looked_up for m in model.module.modules() if hasattr(m, "looked_up")}
    return [(p, hooked[id(p)]) for name, p in model.module.named_parameters()
            if name in ignored and id(p) in hooked and p.requires_grad]


def average_rows(tables: list[tuple[nn.Parameter, LookedUp]], world_size: int) -> None:
    """Each table's gradient becomes its mean over workers, exchanging only the rows some worker looked up this
    step. Collective: every rank calls it with the same tables, in the same order."""
    for p, looked_up in tables:
        mine = looked_up.take(p.device)
        if p.grad is None:  # not used on this rank this step: zero, so the collectives stay matched
            p.grad = torch.zeros_like(p)
        if not looked_up.checked:
            _check_only_looked_up(p.grad, mine)
            looked_up.checked = True
        if world_size == 1:
            continue
        rows = _union(mine, world_size)  # (U,), the same on every rank
        if not rows.numel():  # no worker looked anything up: every gradient is zero already
            continue
        values = p.grad.index_select(0, rows) / world_size  # (U, D), divided before the sum, as DDP does
        dist.all_reduce(values)
        p.grad.index_copy_(0, rows, values)


def _check_only_looked_up(grad: torch.Tensor, ids: torch.Tensor) -> None:
    """Once per table: a row with a gradient that the forward never looked up means the weight is also read some
    other way, and averaging by lookups would drop that row's gradient."""
    outside = grad.ne(0).any(dim=1)
    outside[ids] = False
    if outside.any():
        raise RuntimeError(f"a token table's gradient has {int(outside.sum())} row(s) its forward never looked up "
                           f"(e.g. row {int(outside.nonzero()[0])}): its weight is read outside nn.Embedding.forward; "
                           "leave it to DDP (do not pass it to litlab.row_sync.exclude_token_tables)")


def _union(rows: torch.Tensor, world_size: int) -> torch.Tensor:
    """The sorted union of every rank's row indices (each rank's count first, then the indices themselves)."""
    count = torch.tensor([rows.numel()], device=rows.device)
    counts = [torch.empty_like(count) for _ in range(world_size)]
    dist.all_gather(counts, count)
    sizes = [int(c.item()) for c in counts]
    if not max(sizes):
        return rows
    return torch.unique(torch.cat(gather_ragged(rows, sizes)))  # sorted
