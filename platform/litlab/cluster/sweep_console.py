"""The sweep driver's console: the lines of ``console_view`` on the terminal, everything else in a log file.

While a sweep runs, the driver's stdout and stderr (its file descriptors 1 and 2 and Python's ``sys.stdout`` and
``sys.stderr``) go to a log file per sweep: Tune's status tables, what Ray forwards from its workers (library
load reports, DDP's warnings, deprecations), Ray's own messages. The events of ``litlab.cluster.console`` come
through a named actor and are printed on the terminal once each; so are notes and warnings the code sends with
``console.say``. ``verbose=True`` leaves stdout and stderr where they are (no log file): everything is shown.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import ray

from litlab.cluster.console import INBOX, Inbox
from litlab.cluster.console_view import SweepView

POLL_S = 0.5


def log_path(sweep: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """A new log file for this invocation of ``sweep`` (never an earlier one's): $LITLAB_LOG_DIR or
    ~/.cache/litlab/logs, named after the sweep and the UTC time."""
    root = Path(folder or os.environ.get("LITLAB_LOG_DIR") or Path.home() / ".cache/litlab/logs")
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path, n = root / f"{sweep}-{stamp}.log", 1
    while path.exists():
        n += 1
        path = root / f"{sweep}-{stamp}-{n}.log"
    return path


class SweepConsole:
    """``with SweepConsole(cells, log) as console:`` run the sweep; ``console.print`` writes to the terminal."""

    def __init__(self, cells: Sequence[tuple[str, int]], log: Path | None, term: IO[str] | None = None) -> None:
        self.view = SweepView.of(cells, time.monotonic())
        self.log = log  # None: verbose, nothing redirected
        self._term_arg = term
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ set-up and tear-down
    def __enter__(self) -> SweepConsole:
        self.term = self._term_arg or _terminal()
        self._saved: list[Any] = []
        if self.log is not None:
            self._redirect(self.log)
        # the job's one inbox, kept for its next sweep (an actor's name is not free at once after a kill)
        self.inbox = Inbox.options(name=INBOX, get_if_exists=True).remote()
        ray.get(self.inbox.take.remote())  # up before any trial looks for it; an earlier sweep's leftovers dropped
        self._thread = threading.Thread(target=self._drain_forever, name="litlab-console", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.log is not None:
            _settle(self.log)
            _flush_repeats()
        self._stop.set()
        self._thread.join(timeout=30)
        with contextlib.suppress(Exception):
            self.drain()
        self._restore()
        if self._term_arg is None and self.term is not sys.stdout:
            self.term.close()

    def _redirect(self, log: Path) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self._file = open(log, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - closed in _restore
        self._saved = [sys.stdout, sys.stderr, os.dup(1), os.dup(2)]
        os.dup2(self._file.fileno(), 1)
        os.dup2(self._file.fileno(), 2)
        sys.stdout = sys.stderr = self._file

    def _restore(self) -> None:
        if not self._saved:
            return
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        out, err, fd1, fd2 = self._saved
        os.dup2(fd1, 1)
        os.dup2(fd2, 2)
        os.close(fd1)
        os.close(fd2)
        sys.stdout, sys.stderr = out, err
        self._file.close()
        self._saved = []

    # ------------------------------------------------------------------ printing
    def print(self, line: str) -> None:
        with self._lock:
            self.term.write(line + "\n")
            self.term.flush()

    def drain(self) -> None:
        """Print every event waiting in the inbox."""
        for event in ray.get(self.inbox.take.remote()):
            for line in self.view.lines(event, time.monotonic()):
                self.print(line)

    def _drain_forever(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.drain()
            except Exception as err:  # noqa: BLE001 - the console must not stop the sweep; said in the log
                print(f"console: {type(err).__name__}: {err}", file=sys.stderr, flush=True)


def _settle(log: Path, quiet_s: float = 1.0, limit_s: float = 6.0) -> None:
    """Wait until the log file has not grown for ``quiet_s`` (``limit_s`` at most): Ray forwards workers' output
    to the driver a moment after they wrote it, and what comes late belongs in the log, not on the console."""
    end, size, since = time.monotonic() + limit_s, -1, time.monotonic()
    while time.monotonic() < end:
        now = log.stat().st_size
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.2)


def _flush_repeats() -> None:
    """Ray holds back lines repeated across workers (its log deduplication) and prints them at disconnect, which
    comes after the console: they are printed into the log now (Ray's private API; skipped if it moved)."""
    try:
        from ray._private.ray_logging import stderr_deduplicator, stdout_deduplicator
        from ray._private.worker import print_worker_logs
    except ImportError:
        return
    for dedup, stream in ((stdout_deduplicator, sys.stdout), (stderr_deduplicator, sys.stderr)):
        for leftover in dedup.flush():
            print_worker_logs(leftover, stream)


def _terminal() -> IO[str]:
    """Where the console's lines go: the process's stdout as it is now (a copy of its file descriptor when it is
    one, so that redirecting fd 1 to the log file does not take the console with it)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        return sys.stdout  # a test's capture, a notebook: written as a Python stream
    sys.stdout.flush()
    return os.fdopen(os.dup(fd), "w", buffering=1, encoding="utf-8", closefd=True)
