"""litlab.cluster.packs: which cells share a Train run, and what may share one."""

from __future__ import annotations

import pytest
from litlab.cluster.packs import check_pack, pack_keys, pack_name
from litlab.config import RunConfig, override
from litlab.grid import Cell, seeded_id


def cells(groups: int, seeds: int) -> list[Cell]:
    """``groups`` settings x ``seeds`` replicates, in expand's order (every setting at one seed, then the next)."""
    ids = [f"setup=s{g}" if k == 0 else seeded_id(f"setup=s{g}", k) for k in range(seeds) for g in range(groups)]
    return [Cell(i, ("towers",), (), RunConfig()) for i in ids]


def test_on_one_trial_slot_a_pack_is_a_replicate_group():
    keys = pack_keys(cells(7, 3), max_concurrent=1, scheduled=False)
    assert len(set(keys.values())) == 7
    assert keys["setup=s2"] == keys["setup=s2,seed=1"] == keys["setup=s2,seed=2"] == "setup=s2"


def test_groups_are_cut_so_that_the_packs_fill_every_trial_slot():
    keys = pack_keys(cells(7, 3), max_concurrent=8, scheduled=False)  # 21 cells // 8 slots: packs of 2
    assert len(set(keys.values())) == 14 >= 8
    assert keys["setup=s0"] == keys["setup=s0,seed=1"] == "setup=s0#0" and keys["setup=s0,seed=2"] == "setup=s0#1"
    assert len(set(pack_keys(cells(7, 3), max_concurrent=21, scheduled=False).values())) == 21  # one cell each


def test_a_scheduler_gets_one_cell_per_pack_and_seeds_1_packs_of_one():
    assert pack_keys(cells(3, 2), 1, scheduled=True) == {c.id: c.id for c in cells(3, 2)}
    assert sorted(pack_keys(cells(3, 1), 1, scheduled=False).values()) == ["setup=s0", "setup=s1", "setup=s2"]


def test_a_pack_holds_cells_that_differ_in_the_seed_only():
    base = RunConfig()
    check_pack([base, override(base, "train.seed", 1)])
    with pytest.raises(ValueError, match="differ only in train.seed"):
        check_pack([base, override(base, "optim.lr", 0.5)])


def test_pack_names_are_safe_folder_names():
    assert pack_name("demo-towers", "setup=Lu#1", "0123456789abcdef") == "demo-towers-setup_Lu_1-01234567"
