"""A pack's cells in turn (litlab.cluster.train): each knows the dataset of the cell trained after it, so that rank 0
can have Ray start that dataset's split coordinator while the cell trains."""

from __future__ import annotations

from litlab.cluster.train import _with_next


def test_each_cell_to_train_gets_the_next_cell_to_train_and_the_last_none():
    cells = [{"dataset": f"train_{i}"} for i in range(5)]
    assert _with_next(cells, [0, 2, 3]) == [(0, "train_2"), (2, "train_3"), (3, None)]  # 1 and 4 finished already
    assert _with_next(cells, [4]) == [(4, None)]
    assert _with_next(cells, []) == []
