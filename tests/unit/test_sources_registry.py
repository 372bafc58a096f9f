"""Every registered shard source builds shards that the training transform reads (parametrized over SOURCES)."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_shipped_sources import FIXTURES as SHIPPED
from fixtures_user_sources import FIXTURES as USER
from litlab.data.shards import iter_rows, read_stats, write_shards
from litlab.data.sources import SOURCES
from litlab.data.sources.base import iter_records, make_source
from litlab.data.transforms import preprocess_batch

FIXTURES = {**USER, **SHIPPED}


def test_every_source_has_a_fixture():
    assert sorted(FIXTURES) == SOURCES.names()


@pytest.mark.parametrize("name", SOURCES.names())
def test_source_builds_shards_the_training_transform_reads(name, tmp_path):
    source = make_source(name, FIXTURES[name](tmp_path / "input"))
    skipped: dict[str, int] = {}
    stats = write_shards(iter_records(source, source.items(), skipped), tmp_path / "shards", rows_per_shard=7,
                         source_skipped=skipped)
    assert stats == read_stats(tmp_path / "shards") and stats.rows > 0
    rows = list(iter_rows(tmp_path / "shards", ["key", "jpg", "txt", "txts"]))
    assert len({r["key"] for r in rows}) == len(rows) == stats.rows
    assert all(r["key"].split("/", 1)[0] and r["txt"].strip() and r["txts"][0] == r["txt"] for r in rows)
    batch = {k: [r[k] for r in rows] for k in ("jpg", "txt", "txts")}
    out = preprocess_batch(batch, size=24, tokenizer="wordpiece_minilm", max_len=16, area_min=0.05, seed=0)
    assert out["image"].shape == (len(rows), 24, 24, 3) and out["image"].dtype == np.uint8
    assert (out["mask"].sum(1) >= 3).all()  # [CLS] + at least one word + [SEP]


def test_unknown_source_and_option_are_clear_errors():
    with pytest.raises(KeyError, match="unknown shard source 'cocoo'.*valid: .*coco"):
        make_source("cocoo", {})
    with pytest.raises(ValueError, match="unknown option.*limt.*valid: .*"):
        make_source("noto-emoji", {"limt": "3"})
