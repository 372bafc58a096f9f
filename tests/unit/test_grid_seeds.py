"""Replicates in the grid (``expand(..., seeds=N)``, design_grid.py --seeds): ids, hashes, groups, merging."""

import pytest
from litlab.config import ConfigError, RunConfig, override
from litlab.grid import Study, expand, replicate_group, seeded_id

TOWERS = Study("towers", {"setup": ("Lu", "uu")})


def test_one_seed_keeps_todays_ids_and_hashes_so_stored_sweeps_resume():
    plain = expand(RunConfig(), [TOWERS])
    once = expand(RunConfig(), [TOWERS], seeds=1)
    assert [(c.id, c.hash) for c in once] == [(c.id, c.hash) for c in plain]
    assert [c.id for c in once] == ["setup=Lu", "setup=uu"] and [c.group for c in once] == ["setup=Lu", "setup=uu"]


def test_n_seeds_run_every_cell_at_seed_plus_0_to_n_minus_1_first_seed_first():
    cells = expand(RunConfig(), [TOWERS], seeds=3)
    assert [c.id for c in cells] == ["setup=Lu", "setup=uu", "setup=Lu,seed=1", "setup=uu,seed=1",
                                     "setup=Lu,seed=2", "setup=uu,seed=2"]
    assert [c.seed for c in cells] == [0, 0, 1, 1, 2, 2]
    assert [c.group for c in cells] == ["setup=Lu", "setup=uu"] * 3
    assert len({c.hash for c in cells}) == 6  # the seed is part of each replicate's identity
    first = expand(RunConfig(), [TOWERS])
    assert [c.hash for c in cells[:2]] == [c.hash for c in first]  # raising N adds runs beside the finished ones
    assert dict(cells[2].overrides)["train.seed"] == 1  # the plan's overrides rebuild the replicate's config
    assert "train.seed" not in dict(cells[0].overrides)


def test_the_seed_suffix_names_the_real_seed_from_the_base_config():
    base = override(RunConfig(), "train.seed", 7)
    cells = expand(base, [Study("s", {"setup": ("Lu",)})], seeds=2)
    assert [(c.id, c.seed) for c in cells] == [("setup=Lu", 7), ("setup=Lu,seed=8", 8)]


def test_identical_cells_of_two_studies_merge_at_every_seed():
    a = Study("a", {"setup": ("Lu", "uu")})
    b = Study("b", {"setup": ("Lu",)}, fixed={"optim.lr": RunConfig().optim.lr})
    cells = expand(RunConfig(), [a, b], seeds=2)
    assert [(c.id, c.studies) for c in cells] == [("setup=Lu", ("a", "b")), ("setup=uu", ("a",)),
                                                  ("setup=Lu,seed=1", ("a", "b")), ("setup=uu,seed=1", ("a",))]


def test_colliding_ids_keep_one_group_per_study():
    a = Study("a", {"setup": ("Lu",)})
    b = Study("b", {"setup": ("Lu",)}, fixed={"optim.lr": 0.5})
    cells = expand(RunConfig(), [a, b], seeds=2)
    assert sorted(c.id for c in cells) == ["a:setup=Lu", "a:setup=Lu,seed=1", "b:setup=Lu", "b:setup=Lu,seed=1"]
    assert sorted({c.group for c in cells}) == ["a:setup=Lu", "b:setup=Lu"]


def test_replicate_group_strips_only_the_replicate_suffix():
    assert replicate_group(seeded_id("setup=Lu,optim.lr=0.001", 4)) == "setup=Lu,optim.lr=0.001"
    assert replicate_group("setup=Lu,train.seed=3") == "setup=Lu,train.seed=3"  # a seed axis is a setting
    assert replicate_group("base,seed=2") == "base" and replicate_group("base") == "base"


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_bad_seed_counts_are_config_errors(bad):
    with pytest.raises(ConfigError, match=r"seeds must be a whole number >= 1"):
        expand(RunConfig(), [TOWERS], seeds=bad)


def test_design_grid_seeds_and_selecting_a_whole_replicate_group():
    import design_grid

    args = design_grid.parse_args(["--preset", "smoke", "--seeds", "3"])
    assert [c.id for c in design_grid.build_cells(args)] == ["setup=Lu", "setup=uu", "setup=Lu,seed=1",
                                                             "setup=uu,seed=1", "setup=Lu,seed=2", "setup=uu,seed=2"]
    group = design_grid.parse_args(["--preset", "smoke", "--seeds", "3", "--cell", "setup=uu"])
    assert [c.id for c in design_grid.build_cells(group)] == ["setup=uu", "setup=uu,seed=1", "setup=uu,seed=2"]
    one = design_grid.parse_args(["--preset", "smoke", "--seeds", "3", "--cell", "setup=uu,seed=2"])
    assert [c.id for c in design_grid.build_cells(one)] == ["setup=uu,seed=2"]
    with pytest.raises(ConfigError, match="seeds must be a whole number >= 1"):
        design_grid.build_cells(design_grid.parse_args(["--preset", "smoke", "--seeds", "0"]))
    assert design_grid.parse_args([]).seeds == 1
