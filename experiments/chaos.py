"""Chaos: SIGKILL Train workers and the sweep driver at random moments, rerun the sweep, check that the record tells
the truth (litlab.cluster.audit), and print a pass/fail table.

Run:
    python experiments/chaos.py --rounds 8                 # seeds drawn and printed; each round a fresh tiny sweep
    python experiments/chaos.py --seed 1234 --rounds 1     # replay one round exactly (same kills, same moments)
    python experiments/chaos.py --rounds 4 --kills 3       # three kills drawn per round (a replay passes it too)
    python experiments/chaos.py --rounds 4 --seeds 2       # two replicates per cell: more cells in the one pack

Each round builds a 2-cell sweep (Lu, uu; 30 steps at 32 px on tiny shards) in its own MLflow store, storage, Ray
temp dir and TMPDIR, draws 1-3 kills from its seed (a Train worker, two workers of one cell, or the driver's
process group; at a random time after the start, or a random moment after a cell reached a random step), reruns
the sweep after a driver kill or a failed cell until it finishes, then audits: one FINISHED run per cell, each
step once, the history from the final model's lineage, every attempt recorded, every checkpoint whole, no
leftovers (unregistered or staging folders, checkpoint files in TMPDIR), no RUNNING parent run, and the sweep never
stalled (an invocation whose cells log nothing new for 5 minutes is killed and the round fails). Each round's table
is printed as soon as it is audited. Killed actors are
left to die on their own (they outlive the driver by a few seconds); the round waits for them before auditing.
Takes about 2-4 minutes a round on a 2-core CPU machine (Ray and Train start-up dominate); run it under the Ray
lock on a shared machine: `flock /tmp/litlab-ray.lock python experiments/chaos.py ...`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.procs import processes as proc_table

REPO = Path(__file__).resolve().parent.parent
CELLS = ("setup=Lu", "setup=uu")
STEPS = 30
SETS = ("image.size=32", f"optim.steps={STEPS}", "optim.warmup_steps=2", "data.batch_size=16", "eval.max_images=100",
        "train.log_every=2", "train.checkpoint_every=6", "eval.every=10")
TARGETS = ("worker", "two_workers", "driver")
MAX_INVOCATIONS = 6
STALL_S = 300.0  # nothing new in the sweep's MLflow records for this long: it is stuck (seed 20261216 found one)


@dataclass(frozen=True)
class Kill:
    target: str  # worker | two_workers | driver
    delay: float  # seconds after the trigger
    cell: str | None = None  # trigger: this cell reached ``step`` (None: the invocation started)
    step: int = 0

    def describe(self) -> str:
        when = f"{self.delay:.1f} s after {self.cell} reached step {self.step}" if self.cell else \
            f"{self.delay:.1f} s after the start"
        return f"{self.target} {when}"


@dataclass
class Round:
    seed: int
    kills: list[Kill]
    done: list[str] = field(default_factory=list)  # what each performed kill hit
    missed: list[str] = field(default_factory=list)
    invocations: int = 0
    checks: list = field(default_factory=list)
    zombie_s: float = 0.0  # the longest a killed driver's processes lived on after the kill
    last_to_go: list[str] = field(default_factory=list)  # which of them lived that long
    stalled: str = ""  # which invocation stopped moving, if one did


def draw(seed: int, cells: tuple[str, ...] = CELLS, steps: int = STEPS, kills: int | None = None,
         max_delay: float = 80.0) -> list[Kill]:
    """The kills of one round, from its seed alone."""
    rng = random.Random(seed)
    out = []
    for _ in range(kills or rng.randint(1, 3)):
        target = rng.choices(TARGETS, weights=(2, 1, 2))[0]
        if rng.random() < 0.5:
            out.append(Kill(target, rng.uniform(2.0, max_delay)))
        else:
            out.append(Kill(target, rng.uniform(0.0, 3.0), rng.choice(cells), rng.randint(0, steps)))
    return out


# --- processes ------------------------------------------------------------------------------------------------
def processes() -> dict[int, tuple[int, int, str]]:
    """{pid: (parent pid, start time in clock ticks, command line)} of every live process (from /proc)."""
    return {p.pid: (p.ppid, p.start, p.cmdline) for p in proc_table().values() if p.state != "Z"}  # a zombie has exited


def descendants(root: int) -> dict[tuple[int, int], str]:
    """{(pid, start time): command line} of every live descendant of ``root``."""
    procs, found, todo = processes(), {}, [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, start, cmd) in procs.items():
            if ppid == parent and (pid, start) not in found:
                found[(pid, start)] = cmd
                todo.append(pid)
    return found


def train_workers(driver: int) -> list[int]:
    return sorted(pid for (pid, _), cmd in descendants(driver).items() if cmd.startswith("ray::RayTrainWorker"))


def alive(ids: dict[tuple[int, int], str]) -> dict[tuple[int, int], str]:
    live = {(pid, start) for pid, (_, start, _) in processes().items()}
    return {i: cmd for i, cmd in ids.items() if i in live}


def watch(ids: dict[tuple[int, int], str], timeout: float = 120.0) -> threading.Thread:
    """A thread that waits until none of the processes ``ids`` lives; its ``lived`` is how long that took
    (``inf`` after ``timeout``), its ``last`` the command lines of the last ones to go."""
    def run() -> None:
        began = time.monotonic()
        while (left := alive(ids)) and time.monotonic() - began < timeout:
            thread.last = sorted({cmd.split(" ")[0] for cmd in left.values()})
            time.sleep(0.2)
        thread.lived = float("inf") if alive(ids) else time.monotonic() - began

    thread = threading.Thread(target=run, daemon=True)
    thread.lived, thread.last = float("nan"), []
    thread.start()
    return thread


# --- one round ------------------------------------------------------------------------------------------------
def progress(uri: str, sweep: str) -> dict[str, tuple[str, int, int]]:
    """{cell: (status, attempts, the highest step any attempt logged)} from MLflow."""
    from litlab.cluster.tracking import fetch_cell_runs

    try:
        runs = fetch_cell_runs(uri, sweep)
    except LookupError:
        return {}
    out = {}
    for r in runs:
        steps = [v for k, v in r["metrics"].items() if re.fullmatch(r"attempt\.\d+/step", k)]
        attempts = sum(1 for k in r["params"] if re.fullmatch(r"attempt\.\d+", k))
        out[r["tags"]["cell"]] = (r["status"], attempts, int(max(steps, default=0)))
    return out


class Stall:
    """Whether a sweep stopped moving: its cells' records (status, attempts, steps) unchanged for ``STALL_S``."""

    def __init__(self, uri: str, sweep: str) -> None:
        self.uri, self.sweep, self.seen, self.since = uri, sweep, None, time.monotonic()

    def __call__(self) -> bool:
        """Read the records again (kept in ``seen``); True once they have not changed for ``STALL_S``."""
        now = progress(self.uri, self.sweep)
        if now != self.seen:
            self.seen, self.since = now, time.monotonic()
        return time.monotonic() - self.since > STALL_S


def wait_for(kill: Kill, proc: subprocess.Popen, began: float, stall: Stall) -> bool:
    """Block until the kill's moment; False if the sweep exited or stalled first."""
    if kill.cell:
        while proc.poll() is None:
            if stall():
                return False
            if stall.seen.get(kill.cell, ("", 0, -1))[2] >= kill.step:  # the records stall() just read
                break
            time.sleep(0.3)
        began = time.monotonic()
    while proc.poll() is None and time.monotonic() < began + kill.delay:
        time.sleep(0.1)
    return proc.poll() is None


def kill_group(proc: subprocess.Popen) -> dict[tuple[int, int], str]:
    """SIGKILL the invocation's process group; the processes it leaves (its local Ray cluster, and the actors in
    their own process groups), to watch until they are gone."""
    left = descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return left


def finish(proc: subprocess.Popen, stall: Stall) -> dict[tuple[int, int], str] | None:
    """Wait for the invocation to end; when it stalls instead, kill it and return what it left (None if it ended)."""
    while proc.poll() is None:
        if stall():
            return kill_group(proc)
        time.sleep(1.0)
    return None


def perform(kill: Kill, proc: subprocess.Popen, uri: str, sweep: str) -> tuple[str, dict[tuple[int, int], str]]:
    """Do the kill; (what it hit, "" if there was no worker left to kill; the processes a driver kill left)."""
    state = ", ".join(f"{c} {s.lower()} attempt {a} step {p}" for c, (s, a, p) in sorted(progress(uri, sweep).items()))
    if kill.target == "driver":
        return f"driver [{state or 'no run yet'}]", kill_group(proc)
    deadline = time.monotonic() + 120
    while not (workers := train_workers(proc.pid)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # between cells or starting up: the first worker that appears
    victims = workers[-2:] if kill.target == "two_workers" else workers[-1:]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    return (f"{len(victims)} worker(s) [{state or 'no run yet'}]" if victims else ""), {}


def sweep_command(uri: str, sweep: str, storage: Path, shards: Path, cells: tuple[str, ...], sets: tuple[str, ...],
                  seeds: int = 1) -> list[str]:
    args = [a for s in (f"data.root={shards}", *sets) for a in ("--set", s)]
    return [sys.executable, str(REPO / "experiments" / "design_grid.py"), "--preset", "smoke", "--sweep", sweep,
            "--mlflow-uri", uri, "--storage", str(storage), *[a for c in cells for a in ("--cell", c)], *args,
            "--seeds", str(seeds)]


def replicates(cells: tuple[str, ...], seeds: int) -> tuple[str, ...]:
    """The cell ids a sweep of ``cells`` at ``seeds`` replicates runs (the smoke preset's seed is 0)."""
    from litlab.grid import seeded_id

    return cells + tuple(seeded_id(c, k) for k in range(1, seeds) for c in cells)


def run_round(seed: int, work: Path, shards: Path, cells: tuple[str, ...] = CELLS, sets: tuple[str, ...] = SETS,
              kills: list[Kill] | None = None, seeds: int = 1) -> Round:
    """One seeded round in ``work``: the sweep (each cell at ``seeds`` replicates, all of them in one pack), its
    kills and reruns, then the audit."""
    from litlab.cluster.audit import Check, audit_sweep

    work.mkdir(parents=True, exist_ok=True)
    steps = int(next(s.split("=")[1] for s in sets if s.startswith("optim.steps=")))
    result = Round(seed, list(kills if kills is not None else draw(seed, replicates(cells, seeds), steps)))
    uri, sweep, tmp = f"sqlite:///{work / 'mlflow.db'}", "chaos", work / "tmp"
    tmp.mkdir(exist_ok=True)
    ray_tmp = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: Ray's socket paths live under it
    env = {**os.environ, "RAY_TMPDIR": ray_tmp, "TMPDIR": str(tmp)}
    cmd = sweep_command(uri, sweep, work / "ray", shards, cells, sets, seeds)
    pending, watchers = list(result.kills), []
    for n in range(MAX_INVOCATIONS):
        result.invocations = n + 1
        with open(work / f"invocation-{n + 1}.log", "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env,
                                    start_new_session=True)
            began, driver_killed, stall = time.monotonic(), False, Stall(uri, sweep)
            while pending and wait_for(pending[0], proc, began, stall):
                kill = pending.pop(0)
                hit, pids = perform(kill, proc, uri, sweep)
                (result.done if hit else result.missed).append(f"{kill.describe()}: {hit or 'no worker left'}")
                watchers += [watch(pids)] if pids else []
                began, driver_killed = time.monotonic(), kill.target == "driver"
                if driver_killed:
                    break
            left = None if driver_killed else finish(proc, stall)
            if left is not None:
                result.stalled = f"invocation {n + 1}: nothing new in MLflow for {STALL_S:.0f} s; killed"
                watchers.append(watch(left))
                break
            code = proc.returncode
        if not driver_killed and code == 0:
            break
    result.missed += [f"{k.describe()}: the sweep had finished" for k in pending]
    for w in watchers:
        w.join()
    result.zombie_s = max((w.lived for w in watchers), default=0.0)
    result.last_to_go = max(watchers, key=lambda w: w.lived).last if watchers else []
    shutil.rmtree(ray_tmp, ignore_errors=True)
    result.checks = audit_sweep(uri, sweep, list(replicates(cells, seeds)), temp_dirs=[tmp])
    result.checks.append(Check("the sweep never stalled", not result.stalled, result.stalled))
    result.checks.append(Check("killed processes gone", result.zombie_s < float("inf"),
                               "" if result.zombie_s < float("inf") else "a killed driver's processes lived on"))
    return result


def show_round(r: Round) -> None:
    """A round's kills and checks, printed as soon as it is audited (an interrupted run keeps what it found)."""
    print(f"\nround seed {r.seed}: {len(r.done)} kill(s), {r.invocations} invocation(s), killed processes lived "
          f"{r.zombie_s:.1f} s more" + (f" (the last: {', '.join(r.last_to_go)})" if r.last_to_go else ""))
    for line in r.done:
        print(f"  killed: {line}")
    for line in r.missed:
        print(f"  missed: {line}")
    for c in r.checks:
        print(f"  {'PASS' if c.ok else 'FAIL'}  {c.invariant}" + (f": {c.detail}" if c.detail else ""), flush=True)


def report(rounds: list[Round]) -> bool:
    """Print the summary table; True when every invariant held in every round."""
    names = [c.invariant for c in rounds[0].checks] if rounds else []
    print(f"\n{'invariant':36s} " + " ".join(f"{r.seed:>6d}" for r in rounds))
    for i, name in enumerate(names):
        print(f"{name:36s} " + " ".join(f"{'pass' if r.checks[i].ok else 'FAIL':>6s}" for r in rounds))
    kills = sum(len(r.done) for r in rounds)
    ok = all(c.ok for r in rounds for c in r.checks)
    print(f"\n{kills} kill(s) in {len(rounds)} round(s), seeds {', '.join(str(r.seed) for r in rounds)}: "
          f"{'every invariant held' if ok else 'INVARIANTS BROKEN'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seed", type=int, help="the first round's seed (then +1 per round); default: drawn")
    p.add_argument("--minutes", type=float, default=0, help="stop starting rounds after this long (0 = no limit)")
    p.add_argument("--work", default=None, help="folder for the rounds (default: a new one under /tmp)")
    p.add_argument("--shards", default=None, help="tiny shards to train on (default: built into --work)")
    p.add_argument("--kills", type=int, default=None, help="kills drawn per round (default: 1-3, from the seed)")
    p.add_argument("--seeds", type=int, default=1, help="replicates per cell (default 1); all cells in one pack")
    args = p.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="litlab-chaos-"))
    shards = Path(args.shards) if args.shards else build_shards(work / "shards")
    first = args.seed if args.seed is not None else random.SystemRandom().randrange(10_000)
    began, rounds = time.monotonic(), []
    for seed in range(first, first + args.rounds):
        if args.minutes and time.monotonic() - began > args.minutes * 60:
            break
        kills = draw(seed, replicates(CELLS, args.seeds), kills=args.kills)
        print(f"round seed {seed}: {'; '.join(k.describe() for k in kills)}", flush=True)
        rounds.append(run_round(seed, work / f"round-{seed}", shards, kills=kills, seeds=args.seeds))
        show_round(rounds[-1])
    return 0 if report(rounds) else 1


def build_shards(root: Path) -> Path:
    if not (root / "train").is_dir():
        from litlab.data.build import build_demo_shards

        build_demo_shards(root, fmnist_train=600, fmnist_test=200, emoji_limit=300, progress=lambda s: None)
    return root


if __name__ == "__main__":
    sys.exit(main())
