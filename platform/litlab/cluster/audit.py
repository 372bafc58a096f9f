"""Does a sweep's record tell the truth? The invariants that must hold however its processes were killed.

Read back from the MLflow store and the checkpoint storage alone (used by experiments/chaos.py and the kill tests):

- one FINISHED run per cell;
- each metric step logged once, under every name (canonical and per attempt);
- the run's history is the final model's lineage: the attempts named by ``history.lineage`` chain through their
  ``from_attempt``/``start_step`` tags, and every canonical value equals (value and timestamp) what the attempt of
  its segment logged live, and every value those attempts logged inside their segments is there;
- every attempt recorded (numbers 1..N, cause, start step, invocation, last step);
- every checkpoint folder whole (its manifest verifies); no leftovers (unregistered or staging folders, checkpoint
  files in the given temp dirs, staged artifacts);
- no sweep parent run left RUNNING; each KILLED one names the later invocation that closed it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import ray.train
from mlflow.tracking import MlflowClient

from litlab import storage
from litlab.cluster.attempts import attempts
from litlab.cluster.checkpoint_store import STAGING, CheckpointError, folders, read_verified
from litlab.cluster.finish import TRIAL_KEYS, local_tmp
from litlab.cluster.history import STEP, attempt_key, is_attempt_key
from litlab.cluster.tracking import CHECKPOINTS_TAG, client, fetch_cell_runs

RECORD = ("cause", "start_step", "invocation", "started_at", "last_step")
CAUSES = ("first", "worker_restart", "rerun")
CHECKPOINT_FILES = ("model.pt", "history.json", "manifest.json")


@dataclass(frozen=True)
class Check:
    invariant: str
    ok: bool
    detail: str = ""


def audit_sweep(uri: str, sweep: str, cells: Sequence[str],
                temp_dirs: Sequence[Path] = ()) -> list[Check]:
    """Every invariant above for the cells ``cells`` of ``sweep``: one Check per invariant, failures detailed."""
    c = client(uri)
    runs = fetch_cell_runs(uri, sweep)
    checks = [_one_finished(runs, cells)]
    problems: dict[str, list[str]] = {k: [] for k in ("steps", "lineage", "attempts", "whole", "leftovers")}
    for run in runs:
        cell = run["tags"]["cell"]
        histories = {k: c.get_metric_history(run["run_id"], k) for k in run["metrics"]}
        problems["steps"] += [f"{cell}: {p}" for p in steps_once(histories)]
        problems["lineage"] += [f"{cell}: {p}" for p in lineage_problems(run, histories)]
        problems["attempts"] += [f"{cell}: {p}" for p in attempt_problems(run)]
        folder = run["tags"].get(CHECKPOINTS_TAG)
        whole, leftovers = storage_problems(folder) if folder else ([f"no {CHECKPOINTS_TAG} tag"], [])
        problems["whole"] += [f"{cell}: {p}" for p in whole]
        problems["leftovers"] += [f"{cell}: {p}" for p in leftovers]
        problems["leftovers"] += [f"{cell}: staged artifact {p}" for p in local_tmp().glob(f"{run['run_id']}-*")]
    problems["leftovers"] += [f"checkpoint file in a temp dir: {p}" for d in temp_dirs for p in Path(d).rglob("*")
                              if p.name in CHECKPOINT_FILES]
    names = {"steps": "each step once", "lineage": "history from the final lineage",
             "attempts": "attempts recorded", "whole": "checkpoints whole", "leftovers": "no leftovers"}
    checks += [Check(names[k], not v, "; ".join(v[:5])) for k, v in problems.items()]
    return [*checks, _parents(c, sweep)]


def _one_finished(runs: list[dict[str, Any]], cells: Sequence[str]) -> Check:
    by_cell: dict[str, list[str]] = {}
    for r in runs:
        by_cell.setdefault(r["tags"]["cell"], []).append(r["status"])
    bad = [f"{cell}: {by_cell.get(cell, [])}" for cell in cells if by_cell.get(cell) != ["FINISHED"]]
    bad += [f"{cell}: not a cell of this sweep" for cell in by_cell if cell not in cells]
    return Check("one finished run per cell", not bad, "; ".join(bad))


def steps_once(histories: dict[str, list[Any]]) -> list[str]:
    out = []
    for key, points in histories.items():
        steps = [m.step for m in points]
        if len(steps) != len(set(steps)):
            out.append(f"{key} logged {len(steps) - len(set(steps))} step(s) twice")
    return out


def lineage_problems(run: dict[str, Any], histories: dict[str, list[Any]]) -> list[str]:
    """Where the canonical history is not what the attempts of the final model's lineage logged live."""
    record = attempts(run)
    segments = [(int(a), int(lo) - 1, int(hi)) for a, lo, hi in
                re.findall(r"attempt (\d+): steps (\d+)-(\d+)", run["tags"].get("history.lineage", ""))]
    if not segments:
        return [f"no history.lineage tag ({run['tags'].get('history.lineage')!r})"]
    out = _chain_problems(record, segments)
    live = {k: sorted((m.step, _same(m.value), m.timestamp) for m in v) for k, v in histories.items()}
    canonical = {k: v for k, v in live.items() if not is_attempt_key(k) and k not in TRIAL_KEYS}
    for key, points in canonical.items():
        expected = sorted(p for a, lo, hi in segments for p in live.get(attempt_key(a, key), []) if lo < p[0] <= hi)
        if not expected and not key.startswith("dedup/"):
            out.append(f"{key}: no attempt of the lineage logged it")
        elif expected and points != expected:
            wrong = sorted({p[0] for p in set(points) ^ set(expected)})
            out.append(f"{key}: steps {wrong[:6]} differ from the lineage's live values")
    return out


def _same(value: float) -> float | str:
    return "nan" if value != value else value  # NaN equals itself here


def _chain_problems(record: dict[int, dict[str, str]], segments: list[tuple[int, int, int]]) -> list[str]:
    out = []
    first = record.get(segments[0][0], {})
    if first.get("start_step") != "0" or first.get("from_checkpoint") != "none":
        out.append(f"lineage starts at attempt {segments[0][0]}, which did not start from scratch: {first}")
    for (prev, _, end), (nxt, lo, _) in zip(segments, segments[1:], strict=False):
        tags = record.get(nxt, {})
        if tags.get("from_attempt") != str(prev) or tags.get("start_step") != str(end) or lo != end:
            out.append(f"attempt {nxt} does not continue attempt {prev} at step {end}: {tags}")
    newest = max(record, default=0)
    last, _, end = segments[-1]
    tail = record.get(newest, {})
    if newest != last and not (tail.get("from_attempt") == str(last) and tail.get("start_step") == str(end)):
        out.append(f"the history ends with attempt {last}, but the newest attempt is {newest} ({tail})")
    return out


def attempt_problems(run: dict[str, Any]) -> list[str]:
    record = attempts(run)
    out = [] if sorted(record) == list(range(1, len(record) + 1)) else [f"attempt numbers {sorted(record)}"]
    for n, tags in sorted(record.items()):
        missing = [f for f in RECORD if f not in tags]
        if missing:
            out.append(f"attempt {n} lacks {missing}")
        if tags.get("cause") not in CAUSES or (tags.get("cause") == "first") != (n == 1):
            out.append(f"attempt {n} has cause {tags.get('cause')!r}")
        if f"{attempt_key(n, STEP)}" not in run["metrics"]:
            out.append(f"attempt {n} logged no progress ({attempt_key(n, STEP)})")
    return out


def storage_problems(cell_uri: str) -> tuple[list[str], list[str]]:
    """(checkpoint folders that are not whole, leftovers) of one cell's checkpoint folder in its pack's Train run
    (``litlab.cluster.packs.checkpoint_folder``)."""
    train_run_uri = cell_uri.rstrip("/").rsplit("/", 1)[0]
    fs, path = storage.resolve(cell_uri)
    whole, leftovers = [], []
    for folder in folders(fs, path):
        try:
            read_verified(fs, folder)
        except CheckpointError as err:
            whole.append(str(err)[:200])
    try:
        result = ray.train.Result.from_path(train_run_uri)
    except RuntimeError as err:  # no snapshot: nothing was ever registered
        return whole, [f"{train_run_uri}: {err}"[:300]]
    sub = Path(path).name
    registered = {Path(c.path).name for c, _ in result.best_checkpoints or [] if Path(c.path).parent.name == sub}
    leftovers += [f"unregistered {f}" for f in folders(fs, path) if Path(f).name not in registered]
    if fs.get_file_info(f"{path}/{STAGING}").type != pafs.FileType.NotFound:
        leftovers.append(f"staging folder {path}/{STAGING}")
    return whole, leftovers


def _parents(c: MlflowClient, sweep: str) -> Check:
    exp = c.get_experiment_by_name(sweep)
    parents = c.search_runs([exp.experiment_id], "tags.kind = 'sweep'", max_results=1000)
    ids = {r.info.run_id: r for r in parents}
    bad = [f"{r.info.run_id} is RUNNING" for r in parents if r.info.status == "RUNNING"]
    for r in parents:
        if r.info.status == "KILLED":
            by = ids.get(r.data.tags.get("killed_by_sweep_run", ""))
            if by is None or by.info.start_time < r.info.start_time:
                bad.append(f"{r.info.run_id} is KILLED without naming the later invocation that closed it")
    return Check("no running parent", not bad, "; ".join(bad))
