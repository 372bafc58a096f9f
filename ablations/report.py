"""Regenerate the LiT ablation tables and curves from a sweep's MLflow runs, the paper's numbers beside ours.

Run:
    python ablations/report.py                                  # sweep 'smoke' from the embedded store ./mlruns
    python ablations/report.py --sweep smoke --mlflow-uri http://127.0.0.1:5001 --study towers --allow-missing
For each study of the sweep's plan (or each --study): <out>/<sweep>/<study>.md, .csv and .tex (paper-style table,
the paper's published numbers beside with the table or figure they come from), PNG curves (towers.png: zero-shot
top-1 vs training steps, one line per setting with its band over seeds; loss.png), and report.md gathering them
all, under a header naming the protocol and the statistics (and the sweep's coverage report), printed to stdout.
Each setting's value is the mean ± 95 % interval over its seeds (the grid's replicates, design_grid.py's seeds
option), each seed's newest finished run; every order check says agrees / disagrees / inconclusive from a test
over seeds. A cell that only failed is shown as FAILED with its error; a cell with no run is an error (exit
code 2) unless --allow-missing prints a dash.
Takes a few seconds on a 2-core CPU (reading MLflow and drawing the PNGs).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ablations import study_tables
from ablations.report_cells import MissingCellsError, check_missing, resolve_study, studies_in_plan
from ablations.report_groups import Group, group_cells
from ablations.report_header import COVERAGE_ARTIFACT, coverage_section, header
from ablations.report_model import StudyReport
from ablations.report_render import csv_text, study_latex, study_markdown

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="LiT ablation tables and curves from MLflow runs")
    p.add_argument("--sweep", default="smoke", help="MLflow experiment written by experiments/design_grid.py")
    p.add_argument("--mlflow-uri", default=os.environ.get("MLFLOW_TRACKING_URI"),
                   help="tracking server or store (default: $MLFLOW_TRACKING_URI, else the sqlite store in ./mlruns)")
    p.add_argument("--out", default=str(REPO / "reports"), help="reports go to <out>/<sweep>/")
    p.add_argument("--study", action="append", default=[], help="only these studies (repeatable; default: all)")
    p.add_argument("--allow-missing", action="store_true",
                   help="print a dash for expected cells with no run instead of failing")
    return p.parse_args(argv)


def choose_studies(plan: Sequence[Mapping[str, Any]], wanted: Sequence[str], sweep: str) -> list[str]:
    """The requested studies (default: every study of the plan, in plan order); unknown names are an error."""
    known = studies_in_plan(plan)
    if not known:
        raise LookupError(f"the plan of sweep {sweep!r} lists no cells")
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise LookupError(f"study {unknown[0]!r} is not in the plan of sweep {sweep!r}; studies there: "
                          f"{', '.join(known)}")
    return list(dict.fromkeys(wanted)) or known


def build_reports(plan: Sequence[Mapping[str, Any]], runs: Sequence[Mapping[str, Any]], studies: Sequence[str],
                  allow_missing: bool) -> tuple[list[StudyReport], list[Group]]:
    """Each study's report (over its replicate groups) and every group reported; raises MissingCellsError naming
    every missing cell unless ``allow_missing``."""
    resolved = {study: resolve_study(plan, runs, study) for study in studies}
    if not allow_missing:
        check_missing(resolved)
    grouped = {study: group_cells(cells) for study, cells in resolved.items()}
    unique = {g.id: g for groups in grouped.values() for g in groups}
    return [study_tables.build(study, groups) for study, groups in grouped.items()], list(unique.values())


def write_study(report: StudyReport, folder: Path) -> tuple[str, list[Path]]:
    """<study>.md / .csv / .tex (+ <stem>.csv for each further table of ours, <study>_paper.csv for a reference
    table) and PNGs; returns the markdown."""
    from ablations.report_plots import save_png  # matplotlib only when there is something to draw

    pngs = [save_png(plot, folder) for plot in report.plots if plot.series]
    markdown = study_markdown(report, [p.name for p in pngs])
    files = {f"{report.study}.md": markdown, f"{report.study}.csv": csv_text(report.tables[0]),
             f"{report.study}.tex": study_latex(report)}
    files |= {f"{stem}.csv": csv_text(table) for stem, table in report.more}
    for i, ref in enumerate(report.tables[1:]):
        files[f"{report.study}_paper{i + 1 if i else ''}.csv"] = csv_text(ref)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return markdown, [folder / name for name in files] + pngs


def generate(plan: Sequence[Mapping[str, Any]], runs: Sequence[Mapping[str, Any]], *, sweep: str, out: Path,
             studies: Sequence[str] = (), allow_missing: bool = False, source: str = "",
             coverage: str | None = None) -> tuple[str, list[Path]]:
    """Write every chosen study's files and report.md under <out>/<sweep>/; returns report.md's text and the files.
    ``coverage``: the sweep's coverage report (markdown), shown after the header."""
    reports, groups = build_reports(plan, runs, choose_studies(plan, studies, sweep), allow_missing)
    folder = out / sweep
    folder.mkdir(parents=True, exist_ok=True)
    sections, written = [], []
    for report in reports:
        markdown, files = write_study(report, folder)
        sections.append(markdown)
        written += files
    head = header(sweep, source, runs, plan, reports, groups)
    text = "\n".join(part for part in (head, coverage_section(coverage), *sections) if part)
    (folder / "report.md").write_text(text, encoding="utf-8")
    return text, [*written, folder / "report.md"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from litlab.cluster.tracking import fetch_cell_runs, fetch_sweep_plan, fetch_sweep_text, local_store_uri

    uri = args.mlflow_uri or local_store_uri(REPO / "mlruns")
    try:
        runs = fetch_cell_runs(uri, args.sweep, history=True)
        plan = fetch_sweep_plan(uri, args.sweep)
        coverage = fetch_sweep_text(uri, args.sweep, COVERAGE_ARTIFACT)
        text, files = generate(plan, runs, sweep=args.sweep, out=Path(args.out), studies=args.study,
                               allow_missing=args.allow_missing, source=uri, coverage=coverage)
    except (LookupError, MissingCellsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(text)
    print("written:\n" + "\n".join(f"  {p}" for p in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
