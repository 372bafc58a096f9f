"""`make bench`: every benchmark in experiments/benchmarks/ run N times, then a dated entry in BENCHMARKS.md.

Run:
    python experiments/bench.py                        # every benchmark 3 times at full size (85 min on a 2-core CPU)
    python experiments/bench.py --quick                # small sizes, once each, nothing written: ~10 min
    python experiments/bench.py --runs 5 --only ray_overhead,data_pipeline --lock /tmp/litlab-ray.lock

First it checks that the machine is quiet (load average, no other Ray cluster; experiments/bench_machine.py) and
says so when it is not; it checks again before every run and the entry records the busiest check. Runs go in
rounds (every benchmark once, then again), so a drift of the machine touches every benchmark. Each run's output is
kept in reports/bench/<time>/; its figures are the lines it printed with ``benchmarks.figures.report`` (or, for a
benchmark that prints none, the registry's patterns). The entry gives, per figure, the median and min-max over the
runs of each run's median, how many runs and values are behind it, the goal and whether the median meets it, the
machine and the commit; it goes on top of the "`make bench` entries" section of BENCHMARKS.md (newest first; the
README quotes the newest). --quick prints the entry without writing it (--out FILE writes it anyway).
``--lock FILE``: each benchmark that starts Ray runs holding that flock (a machine shared with others).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bench_machine
from benchmarks.figures import Figure, Summary, parse, summarise

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "experiments" / "benchmarks"
SECTION = "## `make bench` entries"
SECTION_NOTE = ("Newest first; written by `make bench` (experiments/bench.py). The README quotes, for each figure, the "
                "newest entry that holds it.")


@dataclass(frozen=True)
class Pattern:
    """A figure read from a benchmark's own output line (for one that does not print ``figures.report`` lines)."""

    name: str
    regex: str  # group 1: the value
    goal: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    ray: bool = False  # starts a Ray cluster (runs under --lock)
    gpu: bool = False  # needs a GPU: skipped, with a note, without one
    patterns: tuple[Pattern, ...] = field(default=())
    of: str = ""  # the script, when this is a variant of another benchmark (another size): name it "<script>@<what>"

    @property
    def script(self) -> Path:
        return HERE / f"{self.of or self.name}.py"


BENCHES: dict[str, Bench] = {}


def register(bench: Bench) -> Bench:
    if bench.name in BENCHES:
        raise ValueError(f"benchmark {bench.name!r} registered twice")
    BENCHES[bench.name] = bench
    return bench


register(Bench("ray_overhead", quick=("--steps", "30", "--repeats", "1"), ray=True))
register(Bench("data_pipeline", quick=("--size", "64", "--rows", "2000", "--big-rows", "6000", "--repeats", "2"),
               ray=True))
# sweep.py is #17's (it prints its own lines, no figure lines): read through its CLI and these patterns
register(Bench("sweep", quick=("--cells", "1", "--steps", "10"), ray=True, patterns=(
    Pattern("training fraction", r"training fraction ([0-9.]+)", ">= 0.8"),
    Pattern("fixed cost per trial", r"fixed cost per trial ([0-9.]+) s", "<= 10", " s"),
    Pattern("wall / ideal", r"wall / ideal = ([0-9.]+)x", "<= 1.2", "x"))))
register(Bench("sigmoid_memory", quick=("--configs", "2x256x64", "--repeats", "2")))
register(Bench("peer", quick=("--quick",)))
register(Bench("precompute", quick=("--steps", "5")))
register(Bench("precompute@224", args=("--size", "224", "--steps", "10"), quick=("--size", "224", "--steps", "2"),
               of="precompute"))
register(Bench("eval_speed", quick=("--images", "1000")))
register(Bench("step_speed", quick=("--setups", "Lu", "--steps", "5", "--repeats", "1")))
register(Bench("allocator", quick=("--setups", "Lu", "--steps", "5", "--repeats", "1")))
register(Bench("row_sync", quick=("--setups", "LU", "--steps", "5", "--repeats", "1")))
register(Bench("dedup_quality", quick=("--per-source", "20", "--demo-rows", "100", "--methods", "exact,phash")))
register(Bench("gpu", gpu=True))
NOT_BENCHMARKS = {"figures": "how benchmarks report figures", "dedup_pool": "dedup_quality.py's image pool",
                  "cpu_share": "CPU seconds per process role, for ray_overhead.py",
                  "procs": "this machine's processes from /proc, for the benchmarks and chaos.py",
                  "ranks": "gloo process groups without Ray, for the benchmarks that time a step across workers",
                  "timed_steps": "a step's pairs/s through litlab.loop.train, for the benchmarks that time steps"}


@dataclass(frozen=True)
class Run:
    bench: str
    number: int
    returncode: int
    seconds: float
    figures: tuple[Figure, ...]
    log: Path
    quiet: bench_machine.Quiet | None = None  # the check just before it started


def figures_of(bench: Bench, output: str) -> list[Figure]:
    """The figure lines of one run, or the bench's patterns matched in its output when it printed none."""
    figs = parse(output)
    if figs or not bench.patterns:
        return figs
    out = []
    for p in bench.patterns:
        values = [float(m) for m in re.findall(p.regex, output)]
        if values:
            out.append(Figure(p.name, tuple(values), p.goal, p.unit))
    return out


@contextlib.contextmanager
def held(lock: Path | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    with lock.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for the lock {lock} (another job holds it)", flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def run_once(bench: Bench, args: tuple[str, ...], number: int, logs: Path, lock: Path | None,
             timeout_s: float) -> Run:
    """One run of a benchmark in its own process, its output shown as it comes and kept in ``logs``."""
    log = logs / f"{bench.name}.{number}.log"
    cmd = [sys.executable, str(bench.script), *args]
    print(f"\n=== {bench.name} run {number}: {' '.join(cmd[1:])}", flush=True)
    with held(lock if bench.ray else None), log.open("w") as sink:
        quiet = bench_machine.quiet_now()  # with the lock held: what this run will share the machine with
        if not quiet.ok:
            print(f"warning: machine {quiet.describe()}", flush=True)
        tic = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sink.write(line)
            lines.append(line)
            if time.perf_counter() - tic > timeout_s:
                proc.kill()
                lines.append(f"killed after {timeout_s:.0f} s (--timeout)\n")
                break
        code = proc.wait()
        seconds = time.perf_counter() - tic
    output = "".join(lines)
    try:
        figs = figures_of(bench, output)
    except ValueError as err:
        print(f"{bench.name} run {number}: {err}", file=sys.stderr)
        figs, code = [], code or 1
    return Run(bench.name, number, code, seconds, tuple(figs), log, quiet)


def entry(summaries: dict[str, list[Summary]], runs: list[Run], notes: list[str], *, title: str, machine: str,
          quiet: str) -> str:
    """The markdown entry: heading, machine, quietness, one table row per figure, then the notes."""
    rows = ["| benchmark | figure | median | min-max | runs x values | goal | met |", "|---|---|---|---|---|---|---|"]
    for bench, sums in summaries.items():
        for s in sums:
            verdict = {True: "yes", False: "**no**", None: "-"}[s.met]
            rows.append(f"| {bench} | {s.name} | {_num(s.median)}{s.unit} | {_num(s.low)}-{_num(s.high)} | "
                        f"{s.runs} x {s.values_per_run} | {s.goal + s.unit if s.goal else '-'} | {verdict} |")
    per_bench: dict[str, list[Run]] = {}
    for r in runs:
        per_bench.setdefault(r.bench, []).append(r)
    times = ", ".join(f"{b} {sum(r.seconds for r in rs) / len(rs) / 60:.1f}" for b, rs in per_bench.items())
    failed = [f"{r.bench} run {r.number} exited {r.returncode} (log {r.log})" for r in runs if r.returncode]
    lines = [f"### {title}", "", f"Machine: {machine}.", f"Quiet: {quiet}.", "", *rows, "",
             f"Minutes per run: {times or 'none'}."]
    lines += [f"- {n}" for n in [*notes, *failed]]
    return "\n".join(lines) + "\n"


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def write_entry(path: Path, text: str) -> None:
    """Put ``text`` at the top of the entries section of ``path`` (the section is added at the end if missing)."""
    doc = path.read_text() if path.exists() else "# Benchmarks: the record\n"
    if SECTION not in doc:
        doc = doc.rstrip("\n") + f"\n\n{SECTION}\n\n{SECTION_NOTE}\n"
    head, tail = doc.split(SECTION, 1)
    note_end = tail.index(SECTION_NOTE) + len(SECTION_NOTE) if SECTION_NOTE in tail else 0
    path.write_text(f"{head}{SECTION}{tail[:note_end]}\n\n{text.rstrip()}\n{tail[note_end:].rstrip()}\n")


def selected(only: str) -> list[Bench]:
    if not only:
        return list(BENCHES.values())
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise SystemExit(f"error: --only {', '.join(unknown)}: no such benchmark; choose from {', '.join(BENCHES)}")
    return [BENCHES[n] for n in names]


def run_all(benches: list[Bench], args: argparse.Namespace, logs: Path) -> tuple[list[Run], list[str]]:
    """Every runnable benchmark ``args.runs`` times in rounds; (runs, notes)."""
    notes, runs = [], []
    has_gpu = bench_machine.gpu() is not None
    for b in benches:
        if b.gpu and not has_gpu:
            notes.append(f"{b.name}: skipped, no GPU here (its --tiny CPU path runs in tests/unit/)")
    todo = [b for b in benches if has_gpu or not b.gpu]
    for number in range(1, args.runs + 1):
        for b in todo:
            runs.append(run_once(b, b.quick if args.quick else b.args, number, logs, args.lock, args.timeout))
    return runs, notes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=0, help="runs of each benchmark (default 3; 1 with --quick)")
    p.add_argument("--quick", action="store_true", help="small sizes (each benchmark's quick arguments)")
    p.add_argument("--only", default="", help=f"comma-separated, from: {', '.join(BENCHES)}")
    p.add_argument("--out", type=Path, default=None, help="default: BENCHMARKS.md (not written with --quick)")
    p.add_argument("--lock", type=Path, default=None, help="flock held by each benchmark that starts Ray")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds one run may take before it is killed")
    args = p.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    if args.runs < 1:
        p.error(f"--runs {args.runs}: at least 1")
    benches = selected(args.only)
    first = bench_machine.quiet_now()
    print(f"machine: {bench_machine.machine()}\n{first.describe()}", flush=True)
    if not first.ok:
        print("warning: the machine is not quiet; figures measured now are noisy (the entry says so)", flush=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    code = bench_machine.commit(REPO)  # the code measured: taken before the runs
    logs = REPO / "reports" / "bench" / stamp.replace(" ", "_").replace(":", "")
    logs.mkdir(parents=True, exist_ok=True)
    runs, notes = run_all(benches, args, logs)
    checks = [r.quiet for r in runs if r.quiet is not None]
    summaries = {b.name: summarise([r.figures for r in runs if r.bench == b.name and not r.returncode])
                 for b in benches}
    summaries = {k: v for k, v in summaries.items() if v}
    busiest = max(checks, key=lambda q: (not q.ok, q.busy), default=first)
    quiet = f"before the runs {first.describe()}; busiest check before a run: {busiest.describe()}"
    mode = "quick" if args.quick else "full"
    title = (f"{stamp} - `{code}` - {args.runs} run(s) of each benchmark ({mode}"
             f"{', ' + args.only if args.only else ''})")
    text = entry(summaries, runs, notes, title=title, machine=bench_machine.machine(), quiet=quiet)
    print("\n" + text)
    out = args.out or (None if args.quick else REPO / "BENCHMARKS.md")
    if out is not None:
        write_entry(out, text)
        print(f"entry written to {out}; run logs in {logs}")
    return 1 if any(r.returncode for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
