"""Progress of a long step (shard builds, dedup indexes, embedding large evaluation sets): a rate and an ETA, at
most one line every ``every_s`` seconds, so a step of seconds says nothing and a step of minutes is never silent.

    shards train: 1,200/4,700 records (410/s, ETA 8s)

Lines go to ``say`` (default: the process's sink, ``print`` unless ``set_sink`` chose another: a sweep's Train
worker sends them to the sweep's console).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
Say = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


_sink: list[Say] = [_print]


def set_sink(say: Say | None) -> None:
    """Where every Rate without its own ``say`` sends its lines (None: back to print)."""
    _sink[0] = say or _print


def eta_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Rate:
    """Counts what a step has done; ``add`` prints a line when ``every_s`` passed since the last one."""

    def __init__(self, what: str, total: int | None = None, *, unit: str = "items", every_s: float = 10.0,
                 say: Say | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.total, self.unit, self.every_s = what, total, unit, every_s
        self._say, self.clock = say, clock
        self.began = self.last = clock()
        self.n = 0

    def add(self, k: int = 1) -> None:
        self.n += k
        now = self.clock()
        if now - self.last >= self.every_s:
            self.last = now
            (self._say or _sink[0])(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = max((self.clock() if now is None else now) - self.began, 1e-9)
        rate = self.n / elapsed
        done = f"{self.n:,}/{self.total:,}" if self.total else f"{self.n:,}"
        eta = (f", ETA {eta_text((self.total - self.n) / rate)}" if self.total and rate > 0 and self.n < self.total
               else "")
        return f"{self.what}: {done} {self.unit} ({rate:,.0f}/s{eta})"


def tracked(items: Iterable[T], rate: Rate, size: Callable[[T], int] = lambda _: 1) -> Iterator[T]:
    """``items`` passed through, each counted in ``rate`` (by ``size`` of it: a batch's rows, say)."""
    for item in items:
        yield item
        rate.add(size(item))
