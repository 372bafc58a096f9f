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


def test_a_study_can_be_a_union_of_products_with_their_own_fixed_overrides():
    s = Study("text", {"text.arch": ("t5_tiny", "transformer_tiny")}, fixed={"setup": "Lu"},
              more=(Study("pretrained", {"setup": ("LU",)}, fixed={"text.arch": "minilm_l6"}),))
    cells = expand(RunConfig(), [s])
    assert [(c.config.setup, c.config.text.arch) for c in cells] == [
        ("Lu", "t5_tiny"), ("Lu", "transformer_tiny"), ("LU", "minilm_l6")]
    assert all(c.studies == ("text",) for c in cells)


def test_with_axes_replaces_values_in_every_product_but_never_fixed_overrides():
    s = Study("text", {"text.arch": ("t5_base",), "optim.steps": (10, 20)}, fixed={"setup": "Lu"},
              more=(Study("more", {"optim.steps": (30,)}, fixed={"text.arch": "minilm_l6"}),))
    small = s.with_axes({"optim.steps": (5,), "text.arch": ("t5_tiny",)})
    assert [(c.config.text.arch, c.config.optim.steps) for c in expand(RunConfig(), [small])] == [
        ("t5_tiny", 5), ("minilm_l6", 5)]
    with pytest.raises(ConfigError, match="no axis 'optim.lrr'; its axes: optim.steps, text.arch"):
        s.with_axes({"optim.lrr": (1,)})


def test_nested_more_expands_and_survives_with_axes():
    inner = Study("inner", {"optim.steps": (7,)}, fixed={"optim.lr": 0.01})
    s = Study("s", {"setup": ("Lu",)}, fixed={"image.size": 32},
              more=(Study("middle", {"setup": ("uu",)}, fixed={"optim.warmup_steps": 3}, more=(inner,)),))
    cells = expand(RunConfig(), [s])
    assert [c.id for c in cells] == ["setup=Lu", "setup=uu", "optim.steps=7"]
    nested = cells[2].config  # every fixed override above it applies: s's, middle's, its own
    assert (nested.image.size, nested.optim.warmup_steps, nested.optim.lr) == (32, 3, 0.01)
    small = s.with_axes({"optim.steps": (5,)})
    assert small.more[0].more[0].fixed == {"optim.lr": 0.01} and small.more[0].more[0].doc == inner.doc
    assert [c.config.optim.steps for c in expand(RunConfig(), [small])][-1] == 5


@pytest.mark.parametrize("preset", ["smoke", "paper-small", "paper-small-indist", "paper"])
def test_every_preset_expands_every_study_into_checked_cells(preset):
    import design_grid
    from litlab.preflight import config_problems

    cells = design_grid.build_cells(design_grid.parse_args(["--preset", preset]))
    assert {p for c in cells for p in config_problems(c.config)} == set()
    studies = {s for c in cells for s in c.studies}
    expected = {"towers"} if preset == "smoke" else {s.name for s in design_grid.STUDIES}
    assert studies == expected and len({c.id for c in cells}) == len(cells)
    if preset == "paper-small":  # the demo's study: every setting of Figure 3 once
        towers = [c for c in cells if "towers" in c.studies]
        assert sorted(c.config.setup for c in towers) == sorted(("LU", "Lu", "UU", "Uu", "uu", "UL", "uL"))


def test_products_of_one_study_sharing_a_config_merge_and_list_the_study_once():
    s = Study("loss", {"optim.negatives": ("global", "worker")},
              more=(Study("objective", {"optim.objective": ("softmax", "sigmoid")}),))
    cells = expand(RunConfig(), [s])
    assert [c.id for c in cells] == ["optim.negatives=global", "optim.negatives=worker", "optim.objective=sigmoid"]
    assert cells[0].studies == ("loss",)


def test_the_loss_study_compares_softmax_and_sigmoid_by_batch_size_locked_and_not():
    import design_grid

    cells = design_grid.build_cells(design_grid.parse_args(["--preset", "paper-small", "--study", "loss"]))
    by = {(c.config.optim.objective, c.config.setup, c.config.optim.negatives, c.config.data.batch_size) for c in cells}
    assert {(o, s, "global", b) for o in ("softmax", "sigmoid") for s in ("Lu", "Uu") for b in (16, 32, 64)} <= by
    assert {("softmax", "Lu", "worker", b) for b in (16, 32, 64)} <= by and len(cells) == 15  # softmax/Lu shared


def test_paper_small_is_the_transfer_protocol_and_indist_its_in_distribution_twin():
    import design_grid

    def towers(preset: str) -> list:
        return design_grid.build_cells(design_grid.parse_args(["--preset", preset, "--study", "towers"]))

    transfer, indist = towers("paper-small"), towers("paper-small-indist")
    for c in transfer:
        assert (c.config.data.train, c.config.eval.protocol, c.config.eval.templates) == ("train", "transfer",
                                                                                          "classname")
        assert c.config.eval.evals[0] == "zeroshot/emoji-vendors-heldout"  # the headline comes first
    for c in indist:
        assert (c.config.data.train, c.config.eval.protocol) == ("train-fmnist", "in-distribution")
        assert c.config.eval.evals[0] == "zeroshot/fmnist-test"
    assert [c.id for c in transfer] == [c.id for c in indist]  # the same studies, the same cells
    assert {c.hash for c in transfer}.isdisjoint(c.hash for c in indist)
