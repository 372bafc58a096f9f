"""What a sweep tells its user, sent from wherever it happens (driver, Tune trial, Train worker) to one console.

A sweep's driver (``litlab.cluster.sweep_console``) starts a named actor, the inbox; every Ray process of the same
job finds it by name and puts events into it, which the driver prints once each, as lines for people. Without an
inbox (a function called outside a sweep, a test, a CLI), every event is printed where it happens, as before.

Events are plain dicts: ``start`` (a cell's trial began), ``skip`` (finished by an earlier invocation),
``step`` (rank 0 logged a step), ``end`` (a cell finished or failed), ``note`` (something worth a line) and
``warn`` (something the user may need to act on: a retried fault, a fallback, a server not answering).
"""

from __future__ import annotations

import sys
from typing import Any

import ray

INBOX = "litlab-console"  # the actor's name, in the job's namespace: one console per sweep driver


@ray.remote(num_cpus=0)
class Inbox:
    """Events in arrival order (calls from one caller arrive in the order they were made)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def put(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def take(self) -> list[dict[str, Any]]:
        out, self.events = self.events, []
        return out


def inbox() -> Any | None:
    """The running sweep's inbox, or None (no Ray, or no sweep console in this job)."""
    if not ray.is_initialized():
        return None
    try:
        return ray.get_actor(INBOX)
    except ValueError:
        return None


def emit(event: dict[str, Any], wait: bool = False) -> bool:
    """Send ``event`` to the sweep's console; False when there is none. ``wait``: until the inbox holds it (for
    events sent just before a process may exit: a cell's end)."""
    box = inbox()
    if box is None:
        return False
    ref = box.put.remote(event)
    if wait:
        ray.get(ref)
    return True


def say(text: str, warn: bool = False) -> None:
    """One line for the user: on the sweep's console, else printed here (stderr for a warning)."""
    if not emit({"kind": "warn" if warn else "note", "text": text}, wait=True):
        print(text, file=sys.stderr if warn else sys.stdout, flush=True)


def step(run_id: str, label: str, step: int, steps: int, loss: float, pairs_per_s: float) -> None:
    """Rank 0's progress at a log step; ``label`` names the cell where no console prints it."""
    event = {"kind": "step", "run": run_id, "step": step, "steps": steps, "loss": loss, "pairs_s": pairs_per_s}
    if not emit(event):
        print(f"[{label}] step {step}/{steps} loss {loss:.3f} {pairs_per_s:.0f} pairs/s", flush=True)


def cell_started(cell_id: str, run_id: str) -> None:
    emit({"kind": "start", "cell": cell_id, "run": run_id}, wait=True)


def cell_skipped(cell_id: str, run_id: str, earlier: str = "finished") -> None:
    """A cell an earlier invocation finished (or a scheduler stopped: ``earlier="stopped"``): not run again."""
    if not emit({"kind": "skip", "cell": cell_id, "run": run_id, "earlier": earlier}, wait=True):
        print(f"cell {cell_id}: {earlier} earlier in run {run_id}; skipped", flush=True)


def cell_ended(cell_id: str, run_id: str, status: str, metrics: dict[str, float], error: str = "") -> None:
    emit({"kind": "end", "cell": cell_id, "run": run_id, "status": status, "metrics": metrics, "error": error},
         wait=True)


def cell_stopped(cell_id: str, run_id: str, by: str, step: int) -> None:
    """A cell the sweep's scheduler stopped (its trial function ends without a word)."""
    emit({"kind": "end", "cell": cell_id, "run": run_id, "status": "STOPPED", "metrics": {}, "by": by, "step": step},
         wait=True)
