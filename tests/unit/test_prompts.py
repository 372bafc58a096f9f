import pytest
from litlab.evaluators.prompts import TEMPLATES, prompts
from litlab.registry import UnknownNameError

EXPECTED_SETS = {"classname", "simple", "small", "clip80", "best", "fmnist", "emoji"}


def test_expected_sets_are_registered_and_names_unique():
    names = TEMPLATES.names()
    assert set(names) >= EXPECTED_SETS
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="registered twice"):
        TEMPLATES.register("simple")(("{}",))


@pytest.mark.parametrize("name", TEMPLATES.names())
def test_each_template_has_exactly_one_slot_and_no_duplicates(name):
    templates = TEMPLATES.get(name)
    assert len(templates) >= 1
    assert len(templates) == len(set(templates)), f"duplicate templates in {name!r}"
    for t in templates:
        assert t.count("{}") == 1 and t.count("{") == 1 and t.count("}") == 1, t
    filled = prompts("sneaker", name)
    assert len(filled) == len(templates) and all(p.count("sneaker") == 1 for p in filled)


def test_clip80_has_the_80_clip_templates_and_best_is_its_subset():
    clip80 = TEMPLATES.get("clip80")
    assert len(clip80) == 80 and len(set(clip80)) == 80
    assert "a photo of a {}." in clip80 and "itap of my {}." in clip80 and "a tattoo of the {}." in clip80
    best = TEMPLATES.get("best")
    assert len(best) == 7 and set(best) <= set(clip80)


def test_dataset_specific_sets():
    assert "a photo of a sandal, a type of clothing." in prompts("sandal", "fmnist")
    assert {"an emoji of grinning face.", "grinning face emoji"} <= set(prompts("grinning face", "emoji"))
    assert prompts("cat", "simple") == ["a photo of a cat."]


def test_unknown_set_lists_valid_names():
    with pytest.raises(UnknownNameError) as info:
        prompts("cat", "clip81")
    message = str(info.value)
    assert "clip81" in message and "did you mean 'clip80'" in message
    assert all(name in message for name in TEMPLATES.names())
