import pytest
from litlab.config import ConfigError, RunConfig
from litlab.grid import Study, expand, select


def test_product_and_stable_ids():
    s = Study("s", {"setup": ("Lu", "uu"), "optim.lr": (1e-3, 1e-4)})
    cells = expand(RunConfig(), [s])
    assert [c.id for c in cells] == ["setup=Lu,optim.lr=0.001", "setup=Lu,optim.lr=0.0001",
                                     "setup=uu,optim.lr=0.001", "setup=uu,optim.lr=0.0001"]
    assert cells[3].config.setup == "uu" and cells[3].config.optim.lr == 1e-4
    assert [c.id for c in expand(RunConfig(), [s])] == [c.id for c in cells]  # same ids every time


def test_identical_cells_across_studies_merge():
    a = Study("a", {"setup": ("Lu", "uu")})
    b = Study("b", {"setup": ("Lu",)}, fixed={"optim.lr": RunConfig().optim.lr})
    cells = expand(RunConfig(), [a, b])
    assert len(cells) == 2 and cells[0].studies == ("a", "b")


def test_colliding_ids_get_the_study_name():
    a = Study("a", {"setup": ("Lu",)})
    b = Study("b", {"setup": ("Lu",)}, fixed={"optim.lr": 0.5})
    assert sorted(c.id for c in expand(RunConfig(), [a, b])) == ["a:setup=Lu", "b:setup=Lu"]


def test_bad_axis_names_the_study():
    with pytest.raises(ConfigError, match="study 'x': unknown config key 'optim.lrr'"):
        expand(RunConfig(), [Study("x", {"optim.lrr": (1,)})])
    with pytest.raises(ConfigError, match="no values"):
        expand(RunConfig(), [Study("x", {"setup": ()})])


def test_select_unknown_study():
    with pytest.raises(ConfigError, match="unknown study 'towerz'; valid: towers"):
        select([Study("towers", {"setup": ("Lu",)})], ["towerz"])
