"""The Train ingest's run-ahead cap (litlab.cluster.data.ingest_options): decoded rows in flight, not bytes alone."""

from __future__ import annotations

import pytest
from litlab.cluster.data import RUN_AHEAD_ROWS, STREAM_OBJECT_STORE, ingest_options, row_bytes
from litlab.config import RunConfig, apply_overrides


@pytest.mark.parametrize("size", [32, 64, 224])
def test_ingest_holds_at_most_run_ahead_rows_in_flight(size):
    cfg = apply_overrides(RunConfig(), {"image.size": size})
    limit = ingest_options(cfg).resource_limits.object_store_memory
    assert limit == min(STREAM_OBJECT_STORE, RUN_AHEAD_ROWS * row_bytes(cfg))
    assert limit <= STREAM_OBJECT_STORE


def test_a_decoded_row_is_its_image_and_its_two_token_arrays():
    cfg = apply_overrides(RunConfig(), {"image.size": 64, "text.max_len": 16})
    assert row_bytes(cfg) == 64 * 64 * 3 + 2 * 8 * 16
