"""ablations/report.py's rendering (LaTeX, markdown, csv with interval columns), its header (protocol, statistics,
coverage) and its script: `main` on a fake litlab.cluster.tracking, with and without --allow-missing, --study,
and its errors. No MLflow.
"""

from __future__ import annotations

import csv
import io
import sys
import types
from typing import Any

import pytest
from litlab.stats import summarize
from report_fixtures import PNG_MAGIC, build, column, entry, run, towers_seeds, towers_sweep

from ablations import report, report_header, report_render
from ablations.report_cells import resolve_study
from ablations.report_groups import group_cells
from ablations.report_model import Table, Value

# ---------------------------------------------------------------- rendering


def test_latex_escapes_special_characters():
    assert report_render.latex_escape("a_b 50% R&D #1 $x {y} ~^\\ <|>") == \
        r"a\_b 50\% R\&D \#1 \$x \{y\} \textasciitilde{}\textasciicircum{}\textbackslash{} $<$\textbar{}$>$"
    table = Table("t_1 & 100%", ("setup", "I→T"), (("Lu_#", "≥ 5"),))
    latex = report_render.latex_table(table)
    assert r"\begin{tabular}{lr}" in latex and r"\caption{t\_1 \& 100\%}" in latex
    assert r"Lu\_\# & $\geq$ 5 \\" in latex and r"setup & I$\rightarrow$T \\" in latex


def test_markdown_escapes_pipes_and_newlines_and_csv_round_trips():
    table = Table("t", ("a", "b"), (("x | y", "line1\nline2"), ("1,2", '"q"')))
    md = report_render.markdown_table(table)
    assert md.splitlines() == ["| a | b |", "|---|---|", "| x \\| y | line1 line2 |", '| 1,2 | "q" |']
    assert list(csv.reader(io.StringIO(report_render.csv_text(table)))) == [["a", "b"], ["x | y", "line1\nline2"],
                                                                            ["1,2", '"q"']]


def test_csv_carries_mean_low_high_n_of_every_measured_column_and_latex_the_interval():
    seeds = Value(summarize([0.70, 0.72, 0.74]))  # t over 3 seeds
    one = Value(summarize([0.12], items=1000))  # one run: bootstrap over 1000 items
    table = Table("t", ("setup", "top-1 %", "run"), (("Lu", seeds, "abc"), ("uu", one, "def"), ("UL", "FAILED", "-")))
    rows = list(csv.reader(io.StringIO(report_render.csv_text(table))))
    assert rows[0] == ["setup", "top-1 % mean", "top-1 % low", "top-1 % high", "top-1 % n", "run"]
    half = seeds.est.half_width * 100
    assert rows[1] == ["Lu", "72.000", f"{72 - half:.3f}", f"{72 + half:.3f}", "3", "abc"]
    assert rows[2][1:5] == ["12.000", f"{one.est.low * 100:.3f}", f"{one.est.high * 100:.3f}", "1"]
    assert rows[3] == ["UL", "FAILED", "", "", "", "-"]  # text stays in the mean column
    assert report_render.markdown_table(table).splitlines()[2] == f"| Lu | 72.0 ± {half:.1f} (n=3) | abc |"
    latex = report_render.latex_table(table)
    assert f"Lu & 72.0 $\\pm$ {half:.1f} (n=3) & abc" in latex and "[" in latex and "1000 items" in latex


def test_a_study_csv_has_interval_columns_and_its_chance_in_the_header():
    rep = build("towers", *towers_seeds({"Lu": [0.5, 0.52, 0.55], "uu": [0.2, 0.25, 0.22]}))
    rows = list(csv.DictReader(io.StringIO(report_render.csv_text(rep.tables[0]))))
    zs = column(rep.tables[0], "ours 0-shot")
    assert [r["setup"] for r in rows] == ["Lu", "uu"] and rows[0][f"{zs} n"] == "3"
    assert float(rows[0][f"{zs} low"]) < float(rows[0][f"{zs} mean"]) == pytest.approx(52.333, abs=1e-3)
    assert "chance 10.0" in zs


# ---------------------------------------------------------------- the script


@pytest.fixture
def fake_tracking(monkeypatch, tmp_path):
    """litlab.cluster.tracking replaced by report_fixtures.towers_sweep (plus a missing cell), recording the URI."""
    plan, runs = towers_sweep()
    plan = [*plan, entry("towers,dedup", setup="Uu", optim__steps=600), entry("dedup", data__dedup="none")]
    runs.append(run(plan[-1], zs=0.3, tune=0.0, evalm=0.0))
    module = types.ModuleType("litlab.cluster.tracking")
    asked: list[str] = []

    def fetch_cell_runs(uri: str, sweep: str, history: bool = False) -> list[dict[str, Any]]:
        assert history, "the report draws curves from the evaluations' history: it must ask for it"
        asked.append(uri)
        if sweep != "demo":
            raise LookupError(f"no MLflow experiment {sweep!r} at {uri}")
        return runs

    module.fetch_cell_runs = fetch_cell_runs
    module.fetch_sweep_plan = lambda uri, sweep: plan
    module.fetch_sweep_text = lambda uri, sweep, path: ("| source | fmnist-test |\n|---|---|\n| emoji | 0 images |"
                                                        if path == "coverage/coverage.md" else None)
    module.local_store_uri = lambda folder: f"sqlite:///{folder}/mlflow.db"
    monkeypatch.setitem(sys.modules, "litlab.cluster.tracking", module)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://user:secret@tracking.example:5001")
    return asked


def test_main_without_allow_missing_names_the_missing_cell_and_exits_2(fake_tracking, tmp_path, capsys):
    assert report.main(["--sweep", "demo", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "towers: setup=Uu,optim.steps=600 (no run)" in err and "dedup: setup=Uu" in err
    assert fake_tracking == ["http://user:secret@tracking.example:5001"]  # $MLFLOW_TRACKING_URI by default
    assert not (tmp_path / "demo").exists()


def test_main_with_allow_missing_writes_every_file_and_prints_report(fake_tracking, tmp_path, capsys):
    assert report.main(["--sweep", "demo", "--out", str(tmp_path), "--allow-missing", "--mlflow-uri", "file:/x"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "demo"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["dedup.csv", "dedup.md", "dedup.tex", "dedup_paper.csv", "report.md", "towers.csv",
                     "towers.md", "towers.png", "towers.tex"]
    md = (folder / "report.md").read_text()
    assert out.startswith(md) and "written:" in out and str(folder / "towers.png") in out
    assert "![towers.png](towers.png)" in md and "## Table 5 / Table 9 — deduplication (`dedup`)" in md
    assert "**Protocol: transfer.**" in md and "Welch's two-sided t-test" in md and "α = 0.05" in md
    assert "## Tuning data × evaluation sets" in md and "| emoji | 0 images |" in md  # the sweep's coverage
    uu = next(line for line in md.splitlines() if line.startswith("| Uu |"))
    assert "| 600 | - |" in uu and "57.2 (Table 2)" in uu
    assert fake_tracking == ["file:/x"] and "secret" not in md
    assert (folder / "towers.png").read_bytes()[:8] == PNG_MAGIC
    rows = list(csv.DictReader(io.StringIO((folder / "towers.csv").read_text())))
    assert [r["setup"] for r in rows] == ["LU", "Lu", "Uu", "uu", "UL", "uL"]


def test_main_study_filter_and_errors(fake_tracking, tmp_path, capsys):
    assert report.main(["--sweep", "demo", "--out", str(tmp_path), "--study", "dedup", "--allow-missing"]) == 0
    assert sorted(p.name for p in (tmp_path / "demo").iterdir())[0] == "dedup.csv"
    assert not (tmp_path / "demo" / "towers.md").exists()
    assert report.main(["--sweep", "demo", "--out", str(tmp_path), "--study", "tower"]) == 2
    assert "study 'tower' is not in the plan of sweep 'demo'; studies there: towers, dedup" in capsys.readouterr().err
    assert report.main(["--sweep", "nope", "--out", str(tmp_path)]) == 2
    assert "no MLflow experiment 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------- the header: protocol


def _groups(protocols):
    plan = [entry("towers", setup=s) for s in ("Lu", "uu", "Uu")][: len(protocols)]
    runs = [run(e, zs=0.5, protocol=p) for e, p in zip(plan, protocols, strict=True)]
    return group_cells(resolve_study(plan, runs, "towers"))


def test_the_header_says_the_protocol_and_in_distribution_loudly():
    assert report_header.protocol_text(_groups(["transfer", "transfer"])).startswith("**Protocol: transfer.**")
    loud = report_header.protocol_text(_groups(["in-distribution", "in-distribution"]))
    assert loud.startswith("**Protocol: IN-DISTRIBUTION.**") and "NOT zero-shot transfer" in loud
    mixed = report_header.protocol_text(_groups(["in-distribution", "transfer"]))
    assert "IN-DISTRIBUTION" in mixed and "in-distribution (1 run), transfer (1 run)" in mixed
    old = report_header.protocol_text(_groups([None]))
    assert "not recorded (1 run)" in old and "predate eval.protocol" in old


def test_a_sweep_without_a_coverage_report_gets_no_coverage_section():
    assert report_header.coverage_section(None) == report_header.coverage_section("") == ""
    assert report_header.coverage_section("# c\n").endswith("`coverage/coverage.md`)\n\n# c\n")
