"""ablations/report.py's rendering (LaTeX, markdown, csv) and its script: `main` on a fake
litlab.cluster.tracking, with and without --allow-missing, --study, and its errors. No MLflow.
"""

from __future__ import annotations

import csv
import io
import sys
import types
from typing import Any

import pytest
from report_fixtures import PNG_MAGIC, entry, run, towers_sweep

from ablations import report, report_render
from ablations.report_model import Table

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
