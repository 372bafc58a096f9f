"""The sweep console's lines (litlab.cluster.console_view) and the front page's pure parts (litlab.cluster.front_page,
experiments/sweep_report.py): what each event prints, the sweep line's counts and ETA, the UI address."""

from __future__ import annotations

import urllib.parse

import pytest
from litlab.cluster.console_view import SweepView, duration, headline
from litlab.cluster.front_page import cells_table, compare_url, compare_view, ui_base

RUN_A, RUN_B = "a" * 32, "b" * 32


def view() -> SweepView:
    return SweepView.of([("setup=Lu", 60), ("setup=uu", 60)], now=100.0)


def test_a_cell_tells_its_start_steps_and_end_once_each_with_its_place_in_the_sweep():
    v = view()
    assert v.lines({"kind": "start", "cell": "setup=uu", "run": RUN_B}, 110.0) == \
        ["[2/2 setup=uu] started (run bbbbbbbb)"]
    step = {"kind": "step", "run": RUN_B, "step": 20, "steps": 60, "loss": 2.91349, "pairs_s": 411.6}
    assert v.lines(step, 120.0) == ["[2/2 setup=uu] step 20/60  loss 2.913  412 pairs/s"]
    end = {"kind": "end", "cell": "setup=uu", "run": RUN_B, "status": "FINISHED",
           "metrics": {"zeroshot/fmnist-test/top1": 0.3051, "zeroshot/fmnist-test/mean_per_class_recall": 0.29,
                       "retrieval/emoji-heldout/t2i_r1": 0.125, "retrieval/emoji-heldout/t2i_r5": 0.5,
                       "train/loss": 2.0}}
    out = v.lines(end, 302.0)
    assert out[0] == ("[2/2 setup=uu] finished in 3m12s: retrieval/emoji-heldout/t2i_r1 0.125  "
                      "zeroshot/fmnist-test/top1 0.305")
    assert out[1].startswith("sweep: 1/2 done, 0 running, 0 failed; 3m22s elapsed")


def test_the_sweep_line_counts_failures_and_estimates_the_time_left_from_the_steps_done():
    v = view()
    v.lines({"kind": "start", "cell": "setup=Lu", "run": RUN_A}, 100.0)
    v.lines({"kind": "start", "cell": "setup=uu", "run": RUN_B}, 100.0)
    assert v.eta(100.0) is None  # nothing done: no estimate
    v.lines({"kind": "step", "run": RUN_A, "step": 30, "steps": 60, "loss": 1.0, "pairs_s": 1.0}, 150.0)
    assert v.eta(200.0) == pytest.approx(300.0)  # a quarter of the steps in 100 s: 300 s to go
    failed = v.lines({"kind": "end", "cell": "setup=uu", "run": RUN_B, "status": "FAILED", "metrics": {},
                      "error": "DataError: no split folder"}, 200.0)
    assert failed[0] == "[2/2 setup=uu] FAILED after 1m40s: DataError: no split folder"
    assert failed[1] == "sweep: 0/2 done, 1 running, 1 failed; 1m40s elapsed, ETA 33s"


def test_skipped_cells_warnings_and_skipped_records():
    v = view()
    assert v.lines({"kind": "skip", "cell": "setup=Lu", "run": RUN_A}, 100.0) == \
        ["[1/2 setup=Lu] finished earlier in run aaaaaaaa: skipped"]
    assert v.lines({"kind": "warn", "text": "MLflow is not answering"}, 100.0) == \
        ["warning: MLflow is not answering"]
    assert v.lines({"kind": "warn", "text": "warning: x"}, 100.0) == ["warning: x"]
    assert v.lines({"kind": "note", "text": "precomputed 3 embeddings"}, 100.0) == ["precomputed 3 embeddings"]
    v.lines({"kind": "start", "cell": "setup=uu", "run": RUN_B}, 100.0)
    out = v.lines({"kind": "end", "cell": "setup=uu", "run": RUN_B, "status": "FINISHED",
                   "metrics": {"data/skipped/no_image": 2.0, "data/skipped/empty_caption": 0.0}}, 160.0)
    assert out == ["[2/2 setup=uu] finished in 1m00s", "warning: [2/2 setup=uu] skipped records: skipped/no_image 2",
                   "sweep: 2/2 done, 0 running, 0 failed; 1m00s elapsed, ETA 0s"]


def test_events_of_unknown_runs_print_nothing_and_unknown_kinds_are_an_error():
    v = view()
    assert v.lines({"kind": "step", "run": "c" * 32, "step": 2, "steps": 6, "loss": 1.0, "pairs_s": 1.0}, 1.0) == []
    with pytest.raises(ValueError, match="unknown console event kind 'stp'; valid: note, warn, start, skip"):
        v.lines({"kind": "stp", "cell": "setup=Lu"}, 1.0)


def test_headline_and_duration():
    assert headline({"zeroshot/a/top1": 1, "zeroshot/a/top5": 2, "fewshot/b/10shot/top1": 3,
                     "retrieval/c/i2t_r1": 4, "retrieval/c/i2t_r10": 5}) == \
        {"fewshot/b/10shot/top1": 3.0, "retrieval/c/i2t_r1": 4.0, "zeroshot/a/top1": 1.0}
    assert [duration(s) for s in (0, 59.6, 61, 3599, 3600 + 120)] == ["0s", "1m00s", "1m01s", "59m59s", "1h02m"]


def test_the_compare_address_asks_for_the_training_view_the_charts_and_a_flat_list(monkeypatch):
    monkeypatch.delenv("MLFLOW_UI_PORT", raising=False)
    url = compare_url("sqlite:////x/mlflow.db", "7")
    base, fragment = url.split("/#/")
    assert base == "http://127.0.0.1:5002"
    path, query = fragment.split("?")
    assert path == "experiments/7/runs"
    assert dict(urllib.parse.parse_qsl(query)) == {
        "workflowType": "machine_learning", "compareRunsMode": "CHART", "viewStateShareKey": "litlab-compare"}
    # no sort or filter in the address: MLflow ignores a shared view when the address has any
    assert compare_view("zeroshot/fmnist-test/top1") == {
        "orderByKey": "metrics.`zeroshot/fmnist-test/top1`", "orderByAsc": False, "chartsSearchFilter": "^zeroshot/"}
    assert ui_base("http://127.0.0.1:5001/") == "http://127.0.0.1:5001"
    monkeypatch.setenv("MLFLOW_UI_PORT", "6000")
    assert ui_base("sqlite:////x/mlflow.db") == "http://127.0.0.1:6000"


def test_cells_table_fills_what_a_row_lacks():
    assert cells_table([{"cell": "a", "top1": 0.5}, {"cell": "b", "status": "FAILED"}]) == \
        {"cell": ["a", "b"], "top1": [0.5, None], "status": [None, "FAILED"]}
