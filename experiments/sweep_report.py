"""After a sweep: its report (ablations/report.py) generated and logged on the sweep's parent run, with the headline
metric per cell, a description, and the MLflow address that opens on the comparison (litlab.cluster.front_page).

Not a script: design_grid.py calls ``publish`` when a sweep (or a --study of it) ends. By hand, the same report is
`python ablations/report.py --sweep NAME`. Takes a few seconds on a 2-core CPU (the report reads MLflow, draws PNGs).
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litlab.grid import Cell, Study


def headline_metric(cells: Sequence[Cell]) -> str:
    """The metric the cells are ranked by: the first zero-shot evaluation's top-1 (else the first evaluation's)."""
    evals = list(cells[0].config.eval.evals) if cells else []
    first = next((e for e in evals if e.startswith("zeroshot/")), evals[0] if evals else "zeroshot/fmnist-test")
    return f"{first}/top1" if first.startswith("zeroshot/") else f"{first}/t2i_r1"


def run_report(sweep: str, uri: str, studies: Sequence[str], out: Path, allow_missing: bool) -> tuple[Path | None, str]:
    """ablations/report.py through its entry point, its printout kept out of the console: (its folder, or None
    and why)."""
    from ablations import report

    argv = ["--sweep", sweep, "--mlflow-uri", uri, "--out", str(out)]
    argv += [a for s in studies for a in ("--study", s)] + (["--allow-missing"] if allow_missing else [])
    said, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(err):
        code = report.main(argv)
    if code != 0:
        return None, err.getvalue().strip() or f"exit code {code}"
    return out / sweep, ""


def describe(sweep: str, preset: str, preset_doc: str, studies: Sequence[Study], cells: Sequence[Cell],
             results: Sequence[Any], url: str, metric: str) -> str:
    """The parent run's (and the experiment's) description, markdown."""
    failed = [r.cell_id for r in results if r.status != "FINISHED"]
    lines = [f"**Sweep `{sweep}`**: preset `{preset}` ({preset_doc}).", ""]
    lines += [f"- study `{s.name}`: {s.doc}" for s in studies]
    lines += ["", f"{len(cells)} cells ({len(cells) - len(failed)} finished"
              + (f", failed: {', '.join(failed)}" if failed else "") + "): " + ", ".join(c.id for c in cells) + ".",
              "", "**Compare the cells**: open", f"[{url}]({url})",
              f"(the Runs page, model-training view: every cell a row, best `{metric}` first, beside the zero-shot "
              "charts, a line per cell; clear the chart search box for the other metrics).",
              "", "This run's artifacts hold the report: `report/report.md` (tables with the paper's numbers beside), "
              "`.csv`, `.tex`, the figures `report/*.png`, `cells.json` (the headline metrics per cell) and the "
              "sweep's console log `logs/`."]
    return "\n".join(lines)


def publish(*, sweep: str, uri: str, preset: str, preset_doc: str, studies: Sequence[Study], selected: Sequence[str],
            cells: Sequence[Cell], results: Sequence[Any], log: Path | None) -> list[str]:
    """Generate the report, log the front page on the parent run; the lines to print."""
    try:
        return _publish(sweep=sweep, uri=uri, preset=preset, preset_doc=preset_doc, studies=studies,
                        selected=selected, cells=cells, results=results, log=log)
    except Exception as err:  # noqa: BLE001 - the cells' runs are logged; say what the front page lacks
        return [f"warning: the sweep's front page was not published: {type(err).__name__}: {err}"]


def _publish(*, sweep: str, uri: str, preset: str, preset_doc: str, studies: Sequence[Study],
             selected: Sequence[str], cells: Sequence[Cell], results: Sequence[Any], log: Path | None) -> list[str]:
    from litlab.cluster.console_view import headline
    from litlab.cluster.front_page import compare_url, publish_front_page, sweep_run

    metric = headline_metric(cells)
    url = compare_url(uri, sweep_run(uri, sweep)[0])
    rows = [{"cell": r.cell_id, "status": r.status, **headline(r.metrics), "run_id": r.run_id} for r in results]
    with tempfile.TemporaryDirectory(prefix="litlab-report-") as tmp:
        folder, why = run_report(sweep, uri, selected, Path(tmp), any(r.status != "FINISHED" for r in results))
        text = describe(sweep, preset, preset_doc, studies, cells, results, url, metric)
        run_id = publish_front_page(uri, sweep, description=text, rows=rows, report=folder, log=log, metric=metric)
        files = sorted(p.name for p in folder.iterdir()) if folder else []
    out = [f"report: {len(files)} files on the sweep's run {run_id} (report/: {', '.join(files)})" if folder
           else f"warning: no report for sweep {sweep!r}: {why}"]
    return [*out, f"compare the cells in MLflow: {url}"]
