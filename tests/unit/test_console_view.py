"""The sweep console's lines (litlab.cluster.console_view) and the front page's pure parts (litlab.cluster.front_page,
experiments/sweep_report.py): what each event prints, the sweep line's counts and ETA, the UI address."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from litlab.cluster.console_view import LINE_BUDGET, PER_CELL, SweepView, duration, headline, progress_marks
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


def test_a_cell_stopped_by_the_scheduler_counts_as_done_not_running():
    v = view()
    v.lines({"kind": "start", "cell": "setup=Lu", "run": RUN_A}, 100.0)
    out = v.lines({"kind": "end", "cell": "setup=Lu", "run": RUN_A, "status": "STOPPED", "metrics": {},
                   "by": "asha", "step": 20}, 155.0)
    assert out == ["[1/2 setup=Lu] stopped by asha at step 20 after 55s",
                   "sweep: 1/2 done, 0 running, 0 failed; 55s elapsed, ETA 55s"]


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


def _console_lines(cells: int, steps: int = 60, log_every: int = 10) -> list[str]:
    """Every line a sweep of ``cells`` cells prints, each cell logging every ``log_every`` steps."""
    v = SweepView.of([(f"seed={i}", steps) for i in range(cells)], now=0.0)
    out = []
    for i in range(cells):
        run = f"{i:032d}"
        out += v.lines({"kind": "start", "cell": f"seed={i}", "run": run}, 1.0)
        for step in range(log_every, steps + 1, log_every):
            out += v.lines({"kind": "step", "run": run, "step": step, "steps": steps, "loss": 1.0, "pairs_s": 9.0},
                           2.0)
        out += v.lines({"kind": "end", "cell": f"seed={i}", "run": run, "status": "FINISHED",
                        "metrics": {"zeroshot/x/top1": 0.5}}, 3.0)
    return out


@pytest.mark.parametrize(("cells", "shown"), [(2, [10, 20, 30, 40, 50]), (7, [10, 20, 30, 40, 50]), (21, [30]),
                                              (60, [30])])
def test_the_console_shares_a_line_budget_among_the_cells_progress(cells, shown):
    lines = _console_lines(cells)
    assert len(lines) <= max(LINE_BUDGET, (PER_CELL + 1) * cells)  # a huge sweep: one progress line a cell
    steps = [int(m.group(1)) for m in map(re.compile(r"\[1/\d+ seed=0\] step (\d+)/60 ").match, lines) if m]
    assert steps == shown
    assert sum(line.startswith("sweep: ") for line in lines) == cells


def test_a_restarted_attempt_logging_the_same_steps_again_prints_nothing_twice():
    v = SweepView.of([("setup=Lu", 60)] * 1 + [(f"s{i}", 60) for i in range(20)], now=0.0)
    v.lines({"kind": "start", "cell": "setup=Lu", "run": RUN_A}, 1.0)
    step = {"kind": "step", "run": RUN_A, "steps": 60, "loss": 1.0, "pairs_s": 1.0}
    assert v.lines({**step, "step": 30}, 2.0) == ["[1/21 setup=Lu] step 30/60  loss 1.000  1 pairs/s"]
    assert v.lines({**step, "step": 30}, 3.0) == []  # the resumed attempt passes step 30 again
    assert progress_marks(60, 21) == [30] and progress_marks(6, 2)[-1] == 5
