import pytest
from litlab.registry import Registry, UnknownNameError, did_you_mean


def test_register_get_and_unknown():
    reg: Registry[int] = Registry("widget")
    reg.register("alpha")(1)
    reg.register("beta")(2)
    assert reg.get("beta") == 2 and list(reg) == ["alpha", "beta"] and "alpha" in reg
    with pytest.raises(UnknownNameError) as err:
        reg.get("alpah")
    assert str(err.value) == "unknown widget 'alpah' (did you mean 'alpha'?); valid: alpha, beta"
    with pytest.raises(ValueError, match="twice"):
        reg.register("alpha")(3)


def test_did_you_mean_names_the_closest_choice_or_nothing():
    assert did_you_mean("optim.lrr", ["optim.lr", "optim.steps"]) == " (did you mean 'optim.lr'?)"
    assert did_you_mean("zzz", ["optim.lr", "optim.steps"]) == ""
