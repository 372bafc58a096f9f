"""Where the CPU went while one side of a benchmark ran, summed per process role. Not a script.

``CpuShare`` is a context manager: while it is open a thread reads every process's CPU time (user + system,
/proc/<pid>/stat) once per ``interval`` seconds and keeps the last value seen per process (pid and start time,
so a reused pid is another process). On exit, ``seconds`` holds the CPU seconds each role spent inside the window:
a process that existed before the window counts from its value then, one born inside it from zero (its start-up
is part of what a side costs); one that ended between two reads loses its CPU since the last read (all of it when
it lived less than one interval: short-lived helpers are undercounted). Roles come from the title Ray gives its
processes (``ray::SplitCoordinator``, ``ray::RayTrainWorker``) or the program's path; ``ROLES`` names them, first
match wins. A pooled Ray worker changes title with the task it runs (``ray::IDLE`` between tasks), so each
interval's CPU goes to the role the process had at the end of that interval. Linux only (it reads /proc);
elsewhere ``seconds`` stays empty.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

from procs import PROC, Proc, processes

# (role, substrings of the process's first command-line word or its script): the first role that matches wins
ROLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("train workers", ("ray::RayTrainWorker",)),
    ("Ray Data", ("ray::SplitCoordinator", "ray::ReadParquet", "ray::MapBatches", "ray::_StatsActor",
                  "ray::_AutoscalingCoordinator", "ray::DatasetManager", "ray::Map", "ray::Read")),
    ("Ray Train helpers", ("ray::TrainController", "ray::SynchronizationActor", "ray::PlacementGroupCleaner",
                           "ray::TrainStateActor", "ray::SkipCounter", "ray::Progress")),
    ("idle Ray workers", ("ray::IDLE",)),
    ("Ray system (raylet, GCS, dashboard, agents)", ("raylet", "gcs_server", "dashboard", "Agent", "agent",
                                                      "log_monitor", "monitor.py", "forkserver")),
    ("other Ray actors and tasks", ("ray::",)),
)
DRIVER, OTHER = "benchmark process and its children", "other processes"


def role_of(argv0: str, script: str) -> str:
    for role, marks in ROLES:
        if any(m in argv0 or m in script for m in marks):
            return role
    return OTHER


def _role(p: Proc) -> str:
    script = next((w for w in p.argv[1:3] if w.endswith(".py") or "forkserver" in w), "")
    return role_of(p.argv[0] if p.argv else "", script)


class CpuShare:
    """CPU seconds per role while the ``with`` block runs (see the module's docstring)."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.seconds: dict[str, float] = {}
        self._last: dict[tuple[int, int], float] = {}  # CPU seconds per (pid, start) at the previous read
        self._totals: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._mine = {os.getpid()}

    def __enter__(self) -> CpuShare:
        if (PROC / "self" / "stat").exists():
            self._sample(first=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            self._sample()
        ranked = sorted(self._totals.items(), key=lambda kv: -kv[1])
        self.seconds = {r: round(s, 2) for r, s in ranked if s > 0}

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        for p in processes().values():
            role = _role(p)
            if p.ppid in self._mine or p.pid in self._mine:  # the benchmark and its spawned processes
                self._mine.add(p.pid)
                role = DRIVER if role == OTHER else role
            key = (p.pid, p.start)
            if not first:  # before the window: only its value then counts (as the start)
                self._totals[role] = self._totals.get(role, 0.0) + p.cpu_s - self._last.get(key, 0.0)
            self._last[key] = p.cpu_s
