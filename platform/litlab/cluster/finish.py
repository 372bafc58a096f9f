"""Closing a cell's run once its training finished (rank 0, in the Train run, before the pack's next cell): the one
history, the final model, the attempts, no leftovers.

Only the invocation that owns the run (``litlab.cluster.attempts.owns``) does it, and every step is safe to repeat:
a driver killed halfway through leaves a RUNNING run whose rerun restores the final checkpoint and finishes the
job without logging anything twice.
"""

from __future__ import annotations

import json
import posixpath
import shutil
import uuid
from collections.abc import Collection
from pathlib import Path

import pyarrow.fs as pafs

from litlab.cluster import console
from litlab.cluster.attempts import attempts, close_attempts, owns
from litlab.cluster.checkpoint_store import read_verified, sweep
from litlab.cluster.checkpoints import FILE, HISTORY
from litlab.cluster.history import STEP, History, attempt_key, publish
from litlab.cluster.tracking import FINISHED, RunLogger, client

# What the trial (not an attempt) logs once at the finish, as ``extra``: its wall time and its start (litlab.timeline)
TRIAL_KEYS = ("trial/seconds", "time/trial_start")
FAILED_IN_TAG = "failed_in"  # the sweep invocation that closed the run FAILED


def local_tmp() -> Path:
    """Where the final model is staged for MLflow when checkpoints live on S3 (never the system temp dir); a
    staged copy left by a killed finish is removed by the next finish of the same run."""
    return Path.home() / ".cache" / "litlab" / "tmp"


def finish_cell(fs: pafs.FileSystem, folder: str, keep: Collection[str], *, uri: str, run_id: str,
                invocation: str | None, extra: dict[str, float] | None = None) -> bool:
    """From the cell's final checkpoint ``folder``: publish its history under the canonical names, log the final
    model as the artifact ``checkpoint/model.pt``, record each attempt's last step and the lineage, log ``extra``
    (once), remove the cell's checkpoint folders other than ``keep`` (those Ray Train registered) and the final one,
    and mark the run FINISHED. False (nothing written) when a later invocation owns the run."""
    if not owns(uri, run_id, invocation):
        console.say(f"run {run_id} belongs to a later invocation of the sweep: this stale one leaves it alone",
                    warn=True)
        return False
    files, manifest = read_verified(fs, folder)
    history = History(json.loads(files[HISTORY]))
    published = publish(uri, run_id, history)
    _log_model(uri, run_id, fs, folder, files[FILE])
    close_attempts(uri, run_id, last_steps(uri, run_id), lineage_text(history, int(manifest["step"])))
    logger = RunLogger(uri, run_id)
    done = client(uri).get_run(run_id).data.metrics
    logger.log(int(manifest["step"]), {k: v for k, v in (extra or {}).items() if k not in done})
    removed = sweep(fs, posixpath.dirname(folder), [*keep, folder])
    print(f"run {run_id}: history of {len(history.lineage)} attempt(s) published ({published} value(s)), "
          f"{len(removed)} leftover(s) removed", flush=True)
    logger.finish(FINISHED)
    return True


def fail_cell(uri: str, run_id: str, cell_id: str, invocation: str | None, error: str) -> bool:
    """Close an unfinished run FAILED with ``error`` as its tag (and on the console), unless it finished, a later
    invocation owns it, or this invocation closed it already (its first error stays: a pack that fails after rank 0
    closed one of its cells does not retell that cell's error). Returns whether it closed the run."""
    run = client(uri).get_run(run_id)
    done = run.info.status == "FAILED" and run.data.tags.get(FAILED_IN_TAG) == str(invocation)
    if run.info.status == FINISHED or done or not owns(uri, run_id, invocation):
        return False
    logger = RunLogger(uri, run_id)
    logger.set_tag(FAILED_IN_TAG, str(invocation))
    logger.set_tag("error", error[:4000])
    logger.finish("FAILED")
    console.cell_ended(cell_id, run_id, "FAILED", {}, error)
    return True


def last_steps(uri: str, run_id: str) -> dict[int, int | None]:
    """{N: the last step attempt N logged (None if it logged nothing)} from its live ``attempt.N/step`` values."""
    c = client(uri)
    run = c.get_run(run_id)
    numbers = attempts({"params": run.data.params, "tags": run.data.tags})
    out: dict[int, int | None] = {}
    for n in sorted(numbers):
        steps = [m.step for m in c.get_metric_history(run_id, attempt_key(n, STEP))]
        out[n] = max(steps) if steps else None
    return out


def lineage_text(history: History, last_step: int) -> str:
    """``attempt 1: steps 0-20; attempt 3: steps 21-60``: whose values the history holds."""
    parts = [f"attempt {a}: steps {lo + 1}-{hi}" for a, lo, hi in history.segments(last_step) if hi > lo]
    return "; ".join(parts) or "none"


def _log_model(uri: str, run_id: str, fs: pafs.FileSystem, folder: str, data: bytes) -> None:
    """The final model as the run's artifact ``checkpoint/model.pt``, unless an earlier finish logged it."""
    c = client(uri)
    if any(a.path == f"checkpoint/{FILE}" for a in c.list_artifacts(run_id, "checkpoint")):
        return
    if isinstance(fs, pafs.LocalFileSystem):
        c.log_artifact(run_id, posixpath.join(folder, FILE), "checkpoint")
        return
    root = local_tmp()
    for stale in root.glob(f"{run_id}-*"):  # left by a finish that was killed
        shutil.rmtree(stale, ignore_errors=True)
    stage = root / f"{run_id}-{uuid.uuid4().hex[:8]}"
    stage.mkdir(parents=True)
    try:
        (stage / FILE).write_bytes(data)
        c.log_artifact(run_id, str(stage / FILE), "checkpoint")
    finally:
        shutil.rmtree(stage, ignore_errors=True)
