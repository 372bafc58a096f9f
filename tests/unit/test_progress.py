"""litlab.progress: a long step's rate and ETA, at most one line per interval, to the chosen sink."""

from __future__ import annotations

from litlab import progress
from litlab.progress import Rate, eta_text, tracked


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_line_every_interval_with_the_rate_and_the_time_left():
    clock, said = Clock(), []
    rate = Rate("shards train", 4700, unit="records", every_s=10, say=said.append, clock=clock)
    for _ in range(3):  # quick steps say nothing
        clock.t += 1
        rate.add(100)
    assert said == []
    clock.t = 10
    rate.add(700)  # 1,000 in 10 s
    assert said == ["shards train: 1,000/4,700 records (100/s, ETA 37s)"]
    clock.t = 12
    rate.add(100)
    assert len(said) == 1  # not again before another 10 s


def test_unknown_totals_give_a_rate_only_and_tracked_counts_by_size():
    clock, said = Clock(), []
    rate = Rate("loaded", every_s=5, say=said.append, clock=clock)

    def batches():
        for n in (3, 4):
            clock.t += 5
            yield [0] * n

    assert [len(b) for b in tracked(batches(), rate, size=len)] == [3, 4]
    assert said == ["loaded: 3 items (1/s)", "loaded: 7 items (1/s)"]


def test_the_process_sink_takes_lines_of_rates_without_their_own():
    said = []
    clock = Clock()
    progress.set_sink(said.append)
    try:
        rate = Rate("evaluation", 10, every_s=1, clock=clock)
        clock.t = 2
        rate.add(5)
    finally:
        progress.set_sink(None)
    assert said == ["evaluation: 5/10 items (2/s, ETA 2s)"]
    assert [eta_text(s) for s in (0, 75, 7300)] == ["0s", "1m15s", "2h01m"]
