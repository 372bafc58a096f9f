"""Declarations of what each dataset is: complete over the registries, consistent with the keys sources write."""

from __future__ import annotations

import pytest
from litlab.data.domains import EVAL_DOMAINS, KEY_PREFIXES, SOURCE_DOMAINS, Domain, shared, source_domain
from litlab.data.sources import SOURCES, iter_records, make_source
from litlab.evaluators.sets import EVAL_SETS

SHIPPED = {"noto-emoji": {}, "openclipart": {}, "fashion-mnist": {"split": "test", "limit": 3},
           "tuxpaint-stamps": {}, "emoji-styles": {"vendors": "apple"}}


def test_every_registered_source_and_set_is_declared():
    assert set(SOURCE_DOMAINS) == set(SOURCES)
    assert set(EVAL_DOMAINS) == set(EVAL_SETS)
    assert set(KEY_PREFIXES.values()) <= set(SOURCE_DOMAINS)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_keys_a_shipped_source_writes_map_back_to_it(name):
    source = make_source(name, {**SHIPPED[name], "limit": SHIPPED[name].get("limit", 3)})
    records = list(iter_records(source, list(source.items()), {}))
    assert records and {KEY_PREFIXES[r.key.split("/", 1)[0]] for r in records} == {name}
    assert isinstance(source_domain(name, SHIPPED[name]), Domain)


def test_sharing_reads_the_declarations():
    fmnist_train = source_domain("fashion-mnist", {"split": "train"})
    assert shared(fmnist_train, EVAL_DOMAINS["fmnist-test"]) == {"images": "no", "style": "yes", "concepts": "yes"}
    assert shared(source_domain("fashion-mnist", {"split": "test"}), EVAL_DOMAINS["fmnist-test"])["images"] == "yes"
    google = source_domain("emoji-styles", {"vendors": "google"})
    assert shared(google, EVAL_DOMAINS["emoji-heldout"]) == {"images": "yes", "style": "yes", "concepts": "yes"}
    rest = source_domain("noto-emoji", {}, heldout="exclude")
    assert shared(rest, EVAL_DOMAINS["emoji-vendors-heldout"]) == {
        "images": "no", "style": "no", "concepts": "no (held out of the same pool)"}
    assert shared(source_domain("noto-emoji", {}, heldout="only"), EVAL_DOMAINS["emoji-heldout"])["images"] == "yes"
    assert shared(source_domain("csv"), EVAL_DOMAINS["fmnist-test"])["concepts"] == "undeclared"
    assert shared(rest, EVAL_DOMAINS["image-folder"])["style"] == "undeclared"
