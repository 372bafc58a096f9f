"""This machine's processes as /proc shows them: one reader for the benchmarks and the chaos script. Not a script.

``/proc/<pid>/stat`` starts with "pid (comm) state ppid ...", and comm may itself hold spaces and parentheses, so the
fields are read after the last ")". A process that ends between the listing and the read is left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str  # "R", "S", ... "Z" for a zombie (it has exited, its parent has not reaped it)
    start: int  # clock ticks after boot: (pid, start) names a process even once its pid is reused
    cpu_s: float  # user + system CPU seconds so far
    argv: tuple[str, ...]  # the command line's non-empty words (Ray's workers show their title, "ray::...", first)
    cmdline: str  # the command line as one string, NULs as spaces


def read(pid: int, proc: Path = PROC) -> Proc | None:
    """One process, or None when it is gone (or not ours to read)."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # fields[0] is the state
    argv = tuple(a.decode(errors="replace") for a in raw.split(b"\0") if a)
    return Proc(pid, int(fields[1]), fields[0], int(fields[19]), (int(fields[11]) + int(fields[12])) / TICK, argv,
                raw.replace(b"\0", b" ").decode(errors="replace").strip())


def processes(proc: Path = PROC) -> dict[int, Proc]:
    """Every process readable now, by pid."""
    found = (read(int(p.name), proc) for p in proc.iterdir() if p.name.isdigit())
    return {p.pid: p for p in found if p is not None}
