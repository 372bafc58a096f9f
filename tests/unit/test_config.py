import pytest
from litlab.config import (
    FIGURE3_SETTINGS,
    ConfigError,
    RunConfig,
    apply_overrides,
    config_hash,
    from_dict,
    keys,
    override,
    parse_set,
    to_dict,
    to_params,
)


def test_override_parses_strings_to_field_types():
    cfg = apply_overrides(RunConfig(), {"optim.lr": "3e-4", "optim.steps": "20", "image.head": "true",
                                        "train.cpus_per_worker": 0.5, "setup": "uu"})
    assert cfg.optim.lr == pytest.approx(3e-4) and cfg.optim.steps == 20 and cfg.image.head is True
    assert cfg.setup == "uu" and RunConfig().optim.lr == 1e-3  # the original is untouched (frozen)


@pytest.mark.parametrize("key,value,fragment", [
    ("optim.lrr", 1, "'optim.lrr' (did you mean 'optim.lr'?)"),
    ("stup", "Lu", "did you mean 'setup'"),
    ("optim", 1, "is a section"),
    ("optim.lr.x", 1, "unknown config key 'optim.lr.x'"),
    ("optim.steps", "ten", "bad value 'ten' for 'optim.steps'"),
    ("optim.steps", 1.5, "bad value 1.5"),
    ("image.head", "maybe", "bad value 'maybe' for 'image.head'"),
    ("optim.loss", "local", "'optim.loss' (renamed: it is now optim.negatives (global | worker; what was 'local' is "
                            "'worker'))"),
    ("optim.negatives", "local", "bad value 'local' for 'optim.negatives'; valid: global, worker"),
    ("optim.objective", "siglip", "bad value 'siglip' for 'optim.objective'; valid: softmax, sigmoid"),
])
def test_bad_keys_and_values_name_the_problem(key, value, fragment):
    with pytest.raises(ConfigError) as err:
        override(RunConfig(), key, value)
    assert fragment in str(err.value)


@pytest.mark.parametrize("setup", ["L", "Lux", "LX", "lu", "", "ll"])
def test_bad_setup_lists_the_letters(setup):
    with pytest.raises(ConfigError, match="each one of L, U, u"):
        override(RunConfig(), "setup", setup)


def test_every_setup_pair_is_valid():
    for a in "LUu":
        for b in "LUu":
            assert override(RunConfig(), "setup", a + b).setup == a + b


def test_round_trip_and_hash():
    cfg = apply_overrides(RunConfig(), {"setup": "Uu", "optim.lr": 0.01, "text.max_len": 8})
    assert from_dict(to_dict(cfg)) == cfg
    assert config_hash(from_dict(to_dict(cfg))) == config_hash(cfg)
    assert config_hash(cfg) != config_hash(RunConfig())
    assert set(to_params(cfg)) == set(keys())


def test_from_dict_rejects_unknown_keys():
    d = to_dict(RunConfig())
    d["optim"]["momentum"] = 0.9
    with pytest.raises(ConfigError, match="optim.momentum"):
        from_dict(d)


def test_parse_set():
    assert parse_set("optim.lr = 3e-4") == ("optim.lr", "3e-4")
    with pytest.raises(ConfigError, match="key=value"):
        parse_set("optim.lr")


def test_figure3_settings_are_seven_distinct_valid_setups():
    assert len(set(FIGURE3_SETTINGS)) == 7
    assert [RunConfig(setup=s).setup for s in FIGURE3_SETTINGS] == list(FIGURE3_SETTINGS)
