"""The sweep's parent run as its front page, and the MLflow UI address that opens on the comparison.

After a sweep, ``publish_front_page`` logs on the parent run the report's files (markdown, csv, LaTeX, PNG figures,
under ``report/``), the headline metrics per cell as a table MLflow renders (``cells.json``), the console's log
file (``logs/``), and a description (the run's and the experiment's ``mlflow.note.content``) saying what the sweep
was and how to compare its cells.

``compare_url``: in MLflow 3.17 an experiment's bare address opens the GenAI overview (the UI's workflow type
defaults to GenAI, kept in the browser), and the runs table nests the cells under their parent run, collapsed,
so its chart view shows nothing until the parent is expanded; expanded, its charts come in alphabetical sections
(attempt.*, data, retrieval, train, trial before zeroshot). The address given here asks for the model-training
workflow and the chart view, with a shared view (MLflow's own mechanism: an experiment tag
``mlflow.sharedViewState.<key>`` named by the address's ``viewStateShareKey``) that sorts the runs by the headline
metric (a sort key other than the start time lists runs flat, best first) and filters the charts to the zero-shot
ones: every cell is a row, and each zero-shot metric a chart with one line per cell, on the first screen.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from litlab.cluster.tracking import client

NOTE = "mlflow.note.content"  # the description MLflow shows for a run or an experiment
SHARED_VIEW = "mlflow.sharedViewState."  # + a key: a view of the runs page that an address can name
VIEW_KEY = "litlab-compare"
UI_PORT = "5002"  # infra/ports.mk's MLFLOW_UI_PORT, the port `make mlflow-ui` serves on


def ui_base(uri: str) -> str:
    """The UI's address for a tracking URI: the server itself, or `make mlflow-ui`'s for a local store."""
    if uri.startswith(("http://", "https://")):
        return uri.rstrip("/")
    return f"http://127.0.0.1:{os.environ.get('MLFLOW_UI_PORT', UI_PORT)}"


def compare_url(uri: str, experiment_id: str) -> str:
    """The experiment page in the view ``compare_view`` saved: every cell beside the zero-shot charts."""
    query = urllib.parse.urlencode({"workflowType": "machine_learning", "compareRunsMode": "CHART",
                                    "viewStateShareKey": VIEW_KEY})
    return f"{ui_base(uri)}/#/experiments/{experiment_id}/runs?{query}"


def compare_view(metric: str, charts: str = "^zeroshot/") -> dict[str, Any]:
    """The shared view's state: runs sorted by ``metric`` (best first, flat), the charts whose metric matches the
    regular expression ``charts`` (not the live ``attempt.<n>/zeroshot/*`` copies)."""
    return {"orderByKey": f"metrics.`{metric}`", "orderByAsc": False, "chartsSearchFilter": charts}


def sweep_run(uri: str, sweep: str) -> tuple[str, str]:
    """(experiment id, the newest invocation's parent run id) of ``sweep``."""
    c = client(uri)
    exp = c.get_experiment_by_name(sweep)
    if exp is None:
        raise LookupError(f"no MLflow experiment {sweep!r} at {uri}")
    runs = c.search_runs([exp.experiment_id], filter_string="tags.kind = 'sweep'",
                         order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        raise LookupError(f"sweep {sweep!r} at {uri} has no parent run (tag kind=sweep)")
    return exp.experiment_id, runs[0].info.run_id


def cells_table(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Rows (dicts) as MLflow's column table; a value a row lacks is None."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    return {k: [row.get(k) for row in rows] for k in columns}


def publish_front_page(uri: str, sweep: str, *, description: str, rows: Sequence[Mapping[str, Any]],
                       report: Path | None, log: Path | None, metric: str) -> str:
    """Log the front page on the newest parent run of ``sweep`` (see the module docstring); returns its run id."""
    experiment_id, run_id = sweep_run(uri, sweep)
    c = client(uri)
    if report is not None:
        c.log_artifacts(run_id, str(report), "report")
    if rows:
        c.log_table(run_id, cells_table(rows), "cells.json")
    if log is not None and log.exists():
        c.log_artifact(run_id, str(log), "logs")
    c.set_tag(run_id, NOTE, description)
    c.set_experiment_tag(experiment_id, NOTE, description)
    c.set_experiment_tag(experiment_id, SHARED_VIEW + VIEW_KEY, json.dumps(compare_view(metric)))
    return run_id
