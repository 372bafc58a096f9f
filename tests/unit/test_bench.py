"""`make bench` (experiments/bench.py): figures printed and read back, aggregated over runs (median, min-max),
goals checked, the entry well formed and put on top of BENCHMARKS.md's section, every benchmark registered.

No timing is asserted anywhere: these check the bookkeeping, never a speed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bench
import bench_machine
import pytest
from benchmarks.figures import MARK, Figure, alternate, check_goal, met, paired, parse, report, spread, summarise


def test_report_prints_spread_and_a_line_parse_reads_back(capsys):
    fig = report("ray / plain", [1.1, 0.9, 1.0], goal=">= 1.0", unit="x")
    out = capsys.readouterr().out
    assert "ray / plain: 1.00x [0.90-1.10], 3 values (goal >= 1.0x)" in out
    assert parse("noise\n(RayTrainWorker pid=1) " + out) == [fig]
    assert fig.median == 1.0


def test_report_refuses_no_values_and_bad_goals():
    with pytest.raises(ValueError, match="no values"):
        report("x", [])
    with pytest.raises(ValueError, match="'>= NUMBER' or '<= NUMBER'"):
        report("x", [1.0], goal="at least 1")


def test_parse_names_a_malformed_line():
    with pytest.raises(ValueError, match="malformed figure line"):
        parse(MARK + '{"name": "x"}')


def test_spread_of_one_value_says_so():
    assert spread([2.0]) == "2.00 (1 value)"


def test_alternate_reverses_the_order_every_other_round_and_prints_each_round(capsys):
    calls: list[str] = []
    got = alternate(("a", "b", "c"), 3, lambda side: calls.append(side) or len(calls), "Lu", shown=lambda x: 10 * x)
    assert calls == ["a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert got == {"a": [1, 6, 7], "b": [2, 5, 8], "c": [3, 4, 9]}
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "Lu repeat 2/3: a 60.0, b 50.0, c 40.0 pairs/s"


def test_paired_divides_round_by_round_and_refuses_unequal_rounds():
    assert paired([2.0, 3.0], [1.0, 4.0]) == [2.0, 0.75]
    with pytest.raises(ValueError):
        paired([1.0], [1.0, 2.0])


def test_summarise_takes_the_median_of_run_medians_and_their_range():
    runs = [[Figure("a", (1.0, 3.0, 2.0), ">= 1.5", "x"), Figure("b", (5.0,))],
            [Figure("a", (4.0, 4.0))],  # a run without figure b adds nothing to it
            [Figure("a", (0.5, 1.5, 1.0), ">= 1.5", "x"), Figure("b", (7.0,))]]
    a, b = summarise(runs)
    assert (a.name, a.median, a.low, a.high, a.runs, a.values_per_run) == ("a", 2.0, 1.0, 4.0, 3, 2)
    assert (a.goal, a.unit, a.met) == (">= 1.5", "x", True)
    assert (b.median, b.low, b.high, b.runs, b.met) == (6.0, 5.0, 7.0, 2, None)


@pytest.mark.parametrize(("value", "goal", "expected"), [
    (1.0, ">= 1.0", True), (0.99, ">= 1.0", False), (1.2, "<= 1.2", True), (1.3, "<=1.2", False), (3, "", None)])
def test_met(value, goal, expected):
    assert met(value, goal) is expected


def test_check_goal_parses_the_bound():
    assert check_goal(" <= 1e1 ") == ("<=", 10.0)


SWEEP_NEW = ("training fraction 0.83 (goal >= 0.8); fixed cost per trial 12.5 s = start-up 9.0 + shut-down 3.5 "
             "(goal <= 10 s); evaluation 2.0 s a trial")
SWEEP_OLD = "4 cells, 2 at a time: sweep wall 343.0 s, ideal 304.6 s (sum) -> wall / ideal = 1.13x (goal <= 1.2x)"


def test_a_benchmark_without_figure_lines_is_read_through_its_patterns():
    sweep = bench.BENCHES["sweep"]
    new = {f.name: f for f in bench.figures_of(sweep, SWEEP_NEW)}
    assert new["training fraction"].values == (0.83,) and new["fixed cost per trial"].values == (12.5,)
    assert met(new["fixed cost per trial"].median, new["fixed cost per trial"].goal) is False
    old = bench.figures_of(sweep, SWEEP_OLD)
    assert [(f.name, f.values) for f in old] == [("wall / ideal", (1.13,))]


def test_figure_lines_win_over_patterns():
    out = SWEEP_NEW + "\n" + MARK + '{"name": "own", "values": [1.0], "goal": "", "unit": ""}'
    assert [f.name for f in bench.figures_of(bench.BENCHES["sweep"], out)] == ["own"]


def _entry(title: str, tmp_path: Path, failed: bool = False) -> str:
    runs = [bench.Run("ray_overhead", n, 1 if failed and n == 2 else 0, 60.0 * n,
                      (Figure("ray / plain", (0.9 + n / 10,), ">= 1.0", "x"),), tmp_path / f"r{n}.log")
            for n in (1, 2, 3)]
    sums = {"ray_overhead": summarise([r.figures for r in runs if not r.returncode])}
    return bench.entry(sums, runs, ["gpu: skipped, no GPU here"], title=title, machine="a CPU, 2 CPUs",
                       quiet="quiet: load 0.1")


def test_entry_has_one_row_per_figure_with_median_range_runs_goal_and_verdict(tmp_path):
    text = _entry("2026-12-06 08:00 UTC - `abc1234` - 3 run(s)", tmp_path)
    assert text.startswith("### 2026-12-06 08:00 UTC - `abc1234` - 3 run(s)\n")
    assert "Machine: a CPU, 2 CPUs." in text and "Quiet: quiet: load 0.1." in text
    assert "| ray_overhead | ray / plain | 1.1x | 1-1.2 | 3 x 1 | >= 1.0x | yes |" in text
    assert "Minutes per run: ray_overhead 2.0." in text and "- gpu: skipped, no GPU here" in text


def test_entry_names_a_failed_run_and_leaves_it_out(tmp_path):
    text = _entry("t", tmp_path, failed=True)
    assert "| ray / plain | 1.1x | 1-1.2 | 2 x 1 |" in text  # runs 1 and 3
    assert f"- ray_overhead run 2 exited 1 (log {tmp_path / 'r2.log'})" in text


def test_entries_go_on_top_of_their_section_and_keep_the_rest(tmp_path):
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks: the record\n\nOlder tables.\n")
    bench.write_entry(doc, _entry("first", tmp_path))
    bench.write_entry(doc, _entry("second", tmp_path))
    text = doc.read_text()
    assert text.startswith("# Benchmarks: the record\n\nOlder tables.\n\n" + bench.SECTION)
    assert text.count(bench.SECTION) == 1 and text.count(bench.SECTION_NOTE) == 1
    assert text.index("### second") < text.index("### first")


def test_only_refuses_an_unknown_benchmark_listing_the_choices():
    with pytest.raises(SystemExit, match="no such benchmark; choose from ray_overhead, data_pipeline"):
        bench.selected("ray_overhead,nope")


def test_every_script_in_benchmarks_is_registered():
    scripts = {p.stem for p in bench.HERE.glob("*.py")}
    assert scripts - set(bench.NOT_BENCHMARKS) == {b.script.stem for b in bench.BENCHES.values()}
    for name, b in bench.BENCHES.items():  # a variant names its script: "<script>@<what>"
        assert name == b.script.stem or (b.of and name.startswith(f"{b.of}@")), name


@pytest.mark.parametrize("name", list(bench.BENCHES))
def test_registered_benchmark_is_a_script_with_a_run_docstring(name):
    tree = ast.parse(bench.BENCHES[name].script.read_text())
    doc = ast.get_docstring(tree) or ""
    assert "Run:" in doc and f"experiments/benchmarks/{bench.BENCHES[name].script.name}" in doc
    assert any(isinstance(n, ast.If) and "__main__" in ast.unparse(n.test) for n in tree.body)


def test_quiet_needs_idle_cpus_and_no_ray_cluster_whatever_the_lagging_load_average():
    assert bench_machine.Quiet((2.6, 2.9, 3.1), 2, (), busy=0.02).ok  # right after another run: idle, load lags
    assert not bench_machine.Quiet((0.1, 0.1, 0.1), 2, (), busy=0.6).ok
    busy = bench_machine.Quiet((0.1, 0.1, 0.1), 2, (41, 42), busy=0.0)
    assert not busy.ok and "NOT quiet" in busy.describe() and "pids 41, 42" in busy.describe()


def test_busy_fraction_reads_the_aggregate_cpu_line(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    assert bench_machine.cpu_times(stat) == (150, 1000)


def test_ray_pids_finds_raylet_and_gcs_server(tmp_path):
    for pid, name in ((10, "raylet"), (11, "python"), (12, "gcs_server")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "comm").write_text(name + "\n")
    (tmp_path / "13").mkdir()  # a process that ended: no comm
    assert bench_machine.ray_pids(tmp_path) == (10, 12)


FAKE = '''"""Run:
    python experiments/benchmarks/fake.py
"""
import json, sys
print("working", sys.argv[1:])
print("@figure " + json.dumps({"name": "speed", "values": [1.0, 2.0, 3.0], "goal": ">= 2", "unit": "x"}))
'''


def test_main_runs_each_benchmark_in_rounds_and_writes_the_entry(tmp_path, monkeypatch, capsys):
    (tmp_path / "fake.py").write_text(FAKE)
    (tmp_path / "broken.py").write_text("raise SystemExit(3)\n")
    monkeypatch.setattr(bench, "HERE", tmp_path)
    monkeypatch.setattr(bench, "REPO", tmp_path)
    monkeypatch.setattr(bench_machine, "SAMPLE_S", 0.05)  # the quiet check's CPU sample, before every run
    monkeypatch.setattr(bench, "BENCHES", {"fake": bench.Bench("fake", quick=("--small",)),
                                           "broken": bench.Bench("broken", ray=True)})
    out = tmp_path / "B.md"
    code = bench.main(["--quick", "--runs", "2", "--out", str(out), "--lock", str(tmp_path / "lock")])
    assert code == 1  # a benchmark failed
    printed = capsys.readouterr().out
    assert printed.count("=== fake run") == 2 and "working ['--small']" in printed
    assert printed.index("=== fake run 1") < printed.index("=== broken run 1") < printed.index("=== fake run 2")
    text = out.read_text()
    assert "| fake | speed | 2x | 2-2 | 2 x 3 | >= 2x | yes |" in text
    assert "- broken run 1 exited 3" in text and "2 run(s) of each benchmark (quick" in text
    assert (tmp_path / "reports" / "bench").is_dir()
