"""The CPU-by-role sampler behind ray_overhead.py's breakdown (experiments/benchmarks/cpu_share.py) and the /proc
reader it shares with data_pipeline.py and chaos.py (experiments/benchmarks/procs.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from benchmarks.cpu_share import DRIVER, OTHER, CpuShare, role_of
from benchmarks.procs import processes

SYSTEM = "Ray system (raylet, GCS, dashboard, agents)"
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")


@pytest.mark.parametrize(("argv0", "script", "role"), [
    ("ray::RayTrainWorker", "", "train workers"),
    ("ray::SplitCoordinator", "", "Ray Data"),
    ("ray::ReadParquet->MapBatches(decode_block)", "", "Ray Data"),
    ("ray::TrainController", "", "Ray Train helpers"),
    ("ray::IDLE", "", "idle Ray workers"),
    ("/venv/lib/python3.11/site-packages/ray/core/src/ray/raylet/raylet", "", SYSTEM),
    ("/venv/bin/python", "/venv/lib/python3.11/site-packages/ray/dashboard/dashboard.py", SYSTEM),
    ("ray::SomeUserActor", "", "other Ray actors and tasks"),
    ("/usr/bin/python3", "train.py", OTHER),
])
def test_roles_follow_the_process_title(argv0: str, script: str, role: str) -> None:
    assert role_of(argv0, script) == role


def burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_child_burning_cpu_inside_the_window_is_counted_and_earlier_cpu_is_not() -> None:
    burn(0.5)  # before the window: must not count
    with CpuShare(interval=0.1) as share:
        child = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time() + 1.0\n"
                                  "while time.process_time() < end: pass\ntime.sleep(0.5)"])
        child.wait()
    mine = share.seconds.get(DRIVER, 0.0)
    assert 0.8 <= mine <= 1.6, share.seconds  # the child's 1 s (less one interval at most) + the sampler's own


def test_outside_linux_or_without_activity_nothing_is_invented() -> None:
    with CpuShare(interval=0.05) as share:
        time.sleep(0.2)
    assert sum(share.seconds.values()) < 0.5, share.seconds


def test_procs_reads_this_process_and_a_child_with_parentheses_in_its_name() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)", "a (b) c"])
    try:
        deadline = time.monotonic() + 5
        while (found := processes().get(child.pid)) is None or len(found.argv) < 4:
            assert time.monotonic() < deadline, "the child never showed up in /proc"
            time.sleep(0.05)
        me = processes()[os.getpid()]
    finally:
        child.kill()
        child.wait()
    assert found.ppid == os.getpid() and found.argv[-1] == "a (b) c" and found.state in "RS"
    assert found.cmdline.endswith("a (b) c") and found.start >= me.start
    assert me.ppid == os.getppid() and me.cpu_s > 0
