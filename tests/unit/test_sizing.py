"""litlab.sizing: trials at once from the cluster's CPUs and GPUs."""

from __future__ import annotations

import pytest
from litlab.config import ConfigError, RunConfig, apply_overrides
from litlab.grid import Study, expand
from litlab.sizing import DATA_CPUS, fitting_trials, trial_needs


def cells(n: int = 4, **overrides):
    base = apply_overrides(RunConfig(), overrides)
    return expand(base, [Study("s", {"optim.lr": tuple(1e-4 * (i + 1) for i in range(n))})])


def test_a_trial_holds_its_workers_and_one_cpu_for_ray_data():
    (cell,) = cells(1, **{"train.workers": 4, "train.cpus_per_worker": 2.0, "train.gpus_per_worker": 1.0})
    assert trial_needs(cell) == (4 * 2.0 + DATA_CPUS, 4.0)


@pytest.mark.parametrize(("cpus", "gpus", "overrides", "expected"), [
    (2, 0, {}, 1),  # 2 workers x 0.5 + 1 = 2 CPUs a trial
    (8, 0, {}, 4),
    (64, 0, {}, 4),  # never more than one per cell
    (1, 0, {}, 1),  # at least one
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
