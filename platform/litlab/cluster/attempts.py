"""Who may write a cell's run: sweep invocations and training attempts, each recorded in the run, never overwritten.

- An **invocation** is one run of the sweep command (its parent run). Each one that trains a cell claims the cell's
  run as invocation M (param ``invocation.M`` = its parent run id, tags ``invocation.M.*``). The newest claim owns
  the run: an earlier invocation's actors, still alive for a few seconds after their driver was killed (Ray
  actors sit in their own process groups), may only write under their own attempt's names; they neither write
  checkpoints, nor the run's history, status or artifacts (``owns``).
- An **attempt** is one start of the cell's Train workers: the first, one after a worker fault (Ray Train replaced
  the worker group), or one after a rerun of the sweep. Rank 0 claims attempt N (param ``attempt.N``) and records
  ``attempt.N.{cause, start_step, from_checkpoint, from_attempt, invocation, data_position, started_at}``; when the
  run finishes, ``attempt.N.last_step`` (the last step it logged) is added for each one.

Claims are MLflow params: a param cannot change once logged (the store refuses it, sqlite and server alike), so
two claimants can never both get number N, and no tag is ever written twice.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from litlab.cluster.tracking import client

Cause = Literal["first", "worker_restart", "rerun"]
CLAIM = re.compile(r"^(attempt|invocation)\.(\d+)$")
MAX_CLAIM_TRIES = 50


@dataclass(frozen=True)
class Attempt:
    number: int
    cause: Cause
    start_step: int
    invocation: str


def claims(params: dict[str, str], kind: str) -> dict[int, str]:
    """{N: value} of the run's ``kind.N`` claims (kind: attempt | invocation)."""
    return {int(m[2]): v for k, v in params.items() if (m := CLAIM.match(k)) and m[1] == kind}


def _claim(c: MlflowClient, run_id: str, kind: str, value: str) -> int:
    """The next free number N for ``kind``, taken by logging the param ``kind.N`` = value (write-once)."""
    for _ in range(MAX_CLAIM_TRIES):
        taken = claims(c.get_run(run_id).data.params, kind)
        n = max(taken, default=0) + 1
        try:
            c.log_param(run_id, f"{kind}.{n}", value)
            return n
        except MlflowException as err:
            if err.error_code != "INVALID_PARAMETER_VALUE":
                raise  # not a lost race: a real error
    raise RuntimeError(f"could not claim a new {kind} number in run {run_id} after {MAX_CLAIM_TRIES} tries")


def claim_invocation(uri: str, run_id: str, sweep_run: str, found: str) -> int:
    """Make the sweep invocation ``sweep_run`` the owner of the cell run; ``found`` is the status it found the run
    in (``new`` for a run it created). Returns the invocation's number in this run."""
    c = client(uri)
    n = _claim(c, run_id, "invocation", sweep_run)
    _tags(c, run_id, f"invocation.{n}", {"found_status": found, "started_at": _now()})
    return n


def owner(params: dict[str, str]) -> str | None:
    """The sweep run id of the newest invocation claim (None for a run no sweep claimed)."""
    taken = claims(params, "invocation")
    return taken[max(taken)] if taken else None


def owns(uri: str, run_id: str, sweep_run: str | None) -> bool:
    """Whether ``sweep_run`` (None: a run outside any sweep) still owns the run: no later invocation claimed it."""
    newest = owner(client(uri).get_run(run_id).data.params)
    return newest is None or newest == sweep_run


def begin_attempt(uri: str, run_id: str, *, invocation: str | None, start_step: int, from_checkpoint: str | None,
                  from_attempt: int | None, data_position: Any = None) -> Attempt:
    """Claim the next attempt number for this start of the workers and record it (tags written once)."""
    c = client(uri)
    n = _claim(c, run_id, "attempt", uuid.uuid4().hex[:12])
    tags = c.get_run(run_id).data.tags
    earlier = tags.get(f"attempt.{n - 1}.invocation") if n > 1 else None
    cause: Cause = "first" if n == 1 else ("worker_restart" if earlier == str(invocation) else "rerun")
    record = {"cause": cause, "start_step": start_step, "from_checkpoint": from_checkpoint or "none",
              "from_attempt": from_attempt if from_attempt is not None else "none", "invocation": invocation,
              "started_at": _now()}
    if data_position is not None:
        record["data_position"] = data_position
    _tags(c, run_id, f"attempt.{n}", record)
    return Attempt(n, cause, start_step, str(invocation))


def starts_in(uri: str, run_id: str, invocation: str | None) -> int:
    """How many attempts ``invocation`` has begun in the run: the first start of its workers, then each restart."""
    run = client(uri).get_run(run_id)
    record = attempts({"params": run.data.params, "tags": run.data.tags})
    return sum(a.get("invocation") == str(invocation) for a in record.values())


def close_attempts(uri: str, run_id: str, last_steps: dict[int, int | None], lineage: str) -> None:
    """At the finish: ``attempt.N.last_step`` for every attempt, and ``history.lineage`` (which attempts' values
    the history holds, from which step), each written only if absent (a finish cut short is completed)."""
    c = client(uri)
    tags = c.get_run(run_id).data.tags
    new = {f"attempt.{n}.last_step": "none logged" if s is None else s for n, s in last_steps.items()}
    new["history.lineage"] = lineage
    _tags(c, run_id, "", {k: v for k, v in new.items() if k not in tags})


def attempts(run: dict[str, Any]) -> dict[int, dict[str, str]]:
    """{N: its recorded fields} of a run as ``fetch_cell_runs`` returns it."""
    out: dict[int, dict[str, str]] = {n: {"claim": v} for n, v in claims(run["params"], "attempt").items()}
    for k, v in run["tags"].items():
        if (m := re.match(r"^attempt\.(\d+)\.(.+)$", k)) and int(m[1]) in out:
            out[int(m[1])][m[2]] = v
    return out


def close_stale_parents(uri: str, experiment_id: str, sweep_run: str) -> list[str]:
    """Mark the sweep's earlier parent runs still RUNNING (their driver was killed) as KILLED, tagged
    ``killed_by_sweep_run`` = ``sweep_run``; returns their ids."""
    c = client(uri)
    stale = [r.info.run_id for r in c.search_runs([experiment_id], "tags.kind = 'sweep' and attributes.status = "
                                                                   "'RUNNING'", max_results=1000)
             if r.info.run_id != sweep_run]
    for run_id in stale:
        c.set_tag(run_id, "killed_by_sweep_run", sweep_run)
        c.set_terminated(run_id, "KILLED")
    return stale


def _tags(c: MlflowClient, run_id: str, prefix: str, values: dict[str, Any]) -> None:
    from mlflow.entities import RunTag

    tags = [RunTag(f"{prefix}.{k}" if prefix else k, str(v)[:5000]) for k, v in values.items()]
    if tags:
        c.log_batch(run_id, tags=tags)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
