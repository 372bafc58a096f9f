"""The machine a `make bench` entry was measured on, whether it was quiet, and the code it measured. Not a script:
experiments/bench.py imports it.

Quiet means: the CPUs busy at most QUIET_BUSY of the time over a SAMPLE_S-second sample of /proc/stat, and no Ray
cluster running (no raylet or gcs_server process of anyone's). Either one slows a benchmark's sides unevenly, so a
figure measured then is recorded as measured on a busy machine. The load averages are reported beside it but do not
decide: the 1-minute one still counts the previous benchmark run for a minute or two after it ended (it read 2.6 on
an idle 2-core machine right after a chaos run), so it would call every run after the first busy.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

QUIET_BUSY = 0.10  # fraction of all CPUs' time
SAMPLE_S = 5.0
RAY_PROCESSES = ("raylet", "gcs_server")


@dataclass(frozen=True)
class Quiet:
    load: tuple[float, float, float]
    cpus: int
    ray_pids: tuple[int, ...]
    busy: float = 0.0  # fraction of all CPUs' time busy over the sample

    @property
    def ok(self) -> bool:
        return self.busy <= QUIET_BUSY and not self.ray_pids

    def describe(self) -> str:
        load = "/".join(f"{x:.2f}" for x in self.load)
        ray = (f"{len(self.ray_pids)} Ray cluster process(es) running (pids {', '.join(map(str, self.ray_pids))})"
               if self.ray_pids else "no Ray cluster running")
        verdict = "quiet" if self.ok else "NOT quiet"
        return (f"{verdict}: CPUs {100 * self.busy:.0f} % busy over {SAMPLE_S:g} s (quiet: <= {100 * QUIET_BUSY:.0f} "
                f"%), load average {load} (1/5/15 min) on {self.cpus} CPUs, {ray}")


def cpu_times(stat: Path = Path("/proc/stat")) -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from the aggregate line of /proc/stat."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, stat.read_text().split()[1:9])
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def busy_fraction(sample_s: float | None = None, stat: Path = Path("/proc/stat")) -> float:
    """The fraction of all CPUs' time spent busy over the next ``sample_s`` seconds (default SAMPLE_S)."""
    b0, t0 = cpu_times(stat)
    time.sleep(SAMPLE_S if sample_s is None else sample_s)
    b1, t1 = cpu_times(stat)
    return (b1 - b0) / max(t1 - t0, 1)


def quiet_now() -> Quiet:
    load = tuple(round(x, 2) for x in os.getloadavg())
    return Quiet(load, os.cpu_count() or 1, ray_pids(), round(busy_fraction(), 3))  # type: ignore[arg-type]


def ray_pids(proc: Path = Path("/proc")) -> tuple[int, ...]:
    """Pids of every raylet and gcs_server process on this machine (any user's), from /proc."""
    pids = []
    for d in proc.glob("[0-9]*"):
        try:
            name = (d / "comm").read_text().strip()
        except OSError:  # the process ended, or is not ours to read
            continue
        if name in RAY_PROCESSES:
            pids.append(int(d.name))
    return tuple(sorted(pids))


def machine() -> str:
    """'<CPU model>, N CPUs, M GiB, <GPU or no GPU>, <OS>' for the entry."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    mem = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        mem = f", {kib / 2**20:.0f} GiB"
    return f"{model}, {os.cpu_count()} CPUs{mem}, {gpu() or 'no GPU'}, {platform.system()} {platform.release()}"


def gpu() -> str | None:
    """The GPUs' names (nvidia-smi), or None when there is none."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    names = [n.strip() for n in out.stdout.splitlines() if n.strip()]
    if out.returncode or not names:
        return None
    return f"{len(names)} x {names[0]}" if len(set(names)) == 1 else ", ".join(names)


def commit(repo: Path) -> str:
    """The short commit, with '+ uncommitted changes' when the work tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=20).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD") or "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} + uncommitted changes" if dirty else head
