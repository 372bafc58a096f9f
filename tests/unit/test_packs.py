"""litlab.cluster.packs: which cells share a Train run, and what may share one."""

from __future__ import annotations

import pytest
from litlab.cluster.packs import check_pack, pack_keys, pack_name, pooled
from litlab.config import FIGURE3_SETTINGS, RunConfig, override
from litlab.grid import Cell, seeded_id


def cells(groups: int, seeds: int, vary: str = "setup") -> list[Cell]:
    """``groups`` settings x ``seeds`` replicates, in expand's order (every setting at one seed, then the next);
    the settings differ in ``vary``: the tower setup (cells that may share a pack) or the batch size (may not)."""
    out = []
    for k in range(seeds):
        for g in range(groups):
            value = FIGURE3_SETTINGS[g] if vary == "setup" else 16 * (g + 1)
            group = f"{vary}={value}"
            cfg = override(override(RunConfig(), vary if vary == "setup" else "data.batch_size", value),
                           "train.seed", k)
            out.append(Cell(group if k == 0 else seeded_id(group, k), ("towers",), (), cfg))
    return out


def test_on_one_trial_slot_every_cell_that_can_share_workers_is_one_pack():
    keys = pack_keys(cells(7, 3), max_concurrent=1, scheduled=False)
    assert set(keys.values()) == {"setup=LU +20"}  # named after the plan's first cell


def test_cells_that_differ_in_what_the_pack_shares_are_packs_apart_each_named_after_its_group():
    keys = pack_keys(cells(3, 2, vary="batch"), max_concurrent=1, scheduled=False)
    assert keys == {"batch=16": "batch=16", "batch=16,seed=1": "batch=16", "batch=32": "batch=32",
                    "batch=32,seed=1": "batch=32", "batch=48": "batch=48", "batch=48,seed=1": "batch=48"}


def test_packs_are_cut_so_that_they_fill_every_trial_slot():
    keys = pack_keys(cells(7, 3), max_concurrent=8, scheduled=False)  # 21 cells // 8 slots: packs of 2
    assert len(set(keys.values())) == 11 >= 8
    assert keys["setup=LU"] == keys["setup=Lu"] == "setup=LU +1" and keys["setup=uL,seed=2"] == "setup=uL,seed=2 +0"
    assert len(set(pack_keys(cells(7, 3), max_concurrent=21, scheduled=False).values())) == 21  # one cell each
    assert pack_keys(cells(7, 3), 8, False) == keys  # the cut depends on the plan alone


def test_a_scheduler_gets_one_cell_per_pack():
    assert pack_keys(cells(3, 2), 1, scheduled=True) == {c.id: c.id for c in cells(3, 2)}


def test_a_pack_holds_cells_that_differ_in_setup_seed_and_optimizer_only():
    base = RunConfig()
    check_pack([base, override(base, "train.seed", 1), override(base, "setup", "uu"), override(base, "optim.lr", .5)])
    with pytest.raises(ValueError, match="not in data.batch_size, eval.every"):
        check_pack([base, override(override(base, "eval.every", 7), "data.batch_size", 8)])


def test_a_packs_restart_budget_is_each_cells_plus_the_fault_that_ends_it():
    assert pooled(override(RunConfig(), "train.max_failures", 2), 3) == 9
    assert pooled(override(RunConfig(), "train.max_failures", 0), 3) == 3
    assert pooled(override(RunConfig(), "train.max_failures", -1), 3) == -1


def test_pack_names_are_safe_folder_names():
    assert pack_name("demo-towers", "setup=Lu +2", "0123456789abcdef") == "demo-towers-setup_Lu_2-01234567"
