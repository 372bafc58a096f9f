"""litlab.sizing: a run's workers (train.workers=0) and the trials at once, from the cluster's CPUs and GPUs."""

from __future__ import annotations

import pytest
from litlab.config import ConfigError, RunConfig, apply_overrides
from litlab.grid import Study, expand
from litlab.sizing import DATA_CPUS, Node, auto_train, fitting_trials, sized_cells, sized_sweep, trial_needs


def cells(n: int = 4, workers: int = 2, **overrides):
    base = apply_overrides(RunConfig(), {"train.workers": workers, **overrides})
    return expand(base, [Study("s", {"optim.lr": tuple(1e-4 * (i + 1) for i in range(n))})])


def test_a_trial_holds_its_workers_and_one_cpu_for_ray_data():
    (cell,) = cells(1, **{"train.workers": 4, "train.cpus_per_worker": 2.0, "train.gpus_per_worker": 1.0})
    assert trial_needs(cell) == (4 * 2.0 + DATA_CPUS, 4.0)


@pytest.mark.parametrize(("cpus", "gpus", "overrides", "expected"), [
    (2, 0, {}, 1),  # 2 workers x 0.5 + 1 = 2 CPUs a trial
    (8, 0, {}, 4),
    (64, 0, {}, 4),  # never more than one per cell
    (64, 8, {"train.workers": 2, "train.gpus_per_worker": 1.0}, 4),  # CPUs allow 32, GPUs 4
    (64, 3, {"train.workers": 2, "train.gpus_per_worker": 1.0}, 1),
    (4, 8, {"train.workers": 1, "train.gpus_per_worker": 1.0}, 2),  # CPUs bind: 1.5 a trial
])
def test_trials_at_once_fit_both_cpus_and_gpus(cpus, gpus, overrides, expected):
    assert fitting_trials(cells(**overrides), cpus, gpus) == expected


def test_a_gpu_grid_on_a_cluster_without_gpus_is_an_error_naming_the_cell():
    grid = cells(2, **{"train.gpus_per_worker": 0.5})
    with pytest.raises(ConfigError, match=r"cell optim.lr=0.0001 asks for 1 GPU\(s\).*has none.*--max-concurrent"):
        fitting_trials(grid, 16, 0)


@pytest.mark.parametrize(("nodes", "expected"), [
    ([Node(2)], (2, 0.5, 0.0, 1)),  # this 2-core machine: 1 CPU left for Ray Data, shared by two workers
    ([Node(1), Node(1)], (2, 0.5, 0.0, 1)),  # make cluster-up's two 1-CPU raylets: never under half a CPU
    ([Node(16)], (2, 7.5, 0.0, 7)),
    ([Node(8), Node(32)], (2, 15.5, 0.0, 15)),  # the largest node
    ([Node(16, 8)], (8, 1.5, 1.0, 1)),  # one worker per GPU; 15 CPUs / 8 rounded down to halves
    ([Node(4), Node(96, 8), Node(48, 4)], (8, 11.5, 1.0, 11)),  # the largest GPU node, not the CPU head
    ([Node(8, 1)], (1, 7.0, 1.0, 7)),
    ([Node(4, 8)], (8, 0.375, 1.0, 1)),  # 3 CPUs for 8 GPU workers: exact shares, the trial still fits the node
    ([Node(1, 2)], (2, 0.0, 1.0, 1)),
])
def test_workers_0_is_sized_from_the_largest_node(nodes, expected):
    train = auto_train(RunConfig().train, nodes)
    assert (train.workers, train.cpus_per_worker, train.gpus_per_worker, train.torch_threads) == expected


def test_explicit_workers_are_kept_as_given():
    train = apply_overrides(RunConfig(), {"train.workers": 3, "train.cpus_per_worker": 2.0}).train
    assert auto_train(train, [Node(64, 8)]) == train


def test_sized_cells_record_the_workers_in_their_config_and_hash():
    unsized = cells(2, workers=0)
    sized = sized_cells(unsized, [Node(16, 4)])
    assert [c.config.train.workers for c in sized] == [4, 4]
    assert [c.hash for c in sized] != [c.hash for c in unsized]
    assert [c.hash for c in sized] == [c.hash for c in sized_cells(unsized, [Node(16, 4)])]  # resume key is stable
    assert fitting_trials(sized, 32, 8) == 2


def test_unsized_cells_cannot_be_counted_and_an_empty_cluster_is_an_error():
    with pytest.raises(ValueError, match="train.workers=0"):
        fitting_trials(cells(1, workers=0), 8)
    with pytest.raises(ConfigError, match="lists none"):
        auto_train(RunConfig().train, [])


def test_a_negative_worker_count_is_a_config_error():
    with pytest.raises(ConfigError, match=r"train.workers must be >= 1, or 0 .* got -1"):
        apply_overrides(RunConfig(), {"train.workers": -1})


def test_a_trial_larger_than_the_cluster_is_an_error_not_a_hang():
    with pytest.raises(ConfigError, match=r"cell optim.lr=0.0001 asks for 2 CPUs .* the cluster has 1; lower"):
        fitting_trials(cells(2), 1)


def test_a_sweep_is_sized_for_the_nodes_and_fits_their_total():
    sized, concurrent = sized_sweep(cells(3, workers=0), [Node(16, 4), Node(16, 4)])
    assert [c.config.train.workers for c in sized] == [4, 4, 4]
    assert concurrent == 2  # 32 CPUs / 15 a trial, 8 GPUs / 4 a trial
    assert sized_sweep(cells(3, workers=0), [Node(16, 4)], max_concurrent=3)[1] == 3  # as given, unchecked
