"""train.seed reaches what makes replicates differ: the towers' random init, the order the training files are read
in, and each worker's local shuffle buffer (and the loop's per-step RNG). No Ray cluster: the file order is Ray
Data's own shuffler on the config's FileShuffleConfig, the shuffle seed is what ShardBatches hands Ray."""

from __future__ import annotations

import torch
from litlab.cluster.data import file_shuffle
from litlab.cluster.shard_batches import ShardBatches, shuffle_seed
from litlab.config import RunConfig, apply_overrides, override
from litlab.loop import step_seed
from litlab.models.build import build_model
from ray.data.datasource.file_based_datasource import _shuffle_file_metadata

FILES = [f"/shards/train/part-{i:05d}.parquet" for i in range(12)]


def config(seed: int) -> RunConfig:
    cfg = apply_overrides(RunConfig(), {"setup": "uu", "image.arch": "mobilenet_v2", "image.size": 32})
    return override(cfg, "train.seed", seed)


def file_order(seed: int, epoch: int) -> list[str]:
    """The order Ray Data's parquet reader reads FILES in, at execution (epoch) ``epoch`` (as get_read_tasks
    calls it with the context's execution index)."""
    paths, _ = _shuffle_file_metadata(FILES, FILES, file_shuffle(config(seed)), epoch)
    return list(paths)


def test_two_seeds_give_two_inits_and_one_seed_the_same():
    """Seed 0 built again after seed 1 in one process is seed 0 built first: a pack's later cell (its replicates
    trained in turn by the same workers, litlab.cluster.packs) starts where it would alone."""
    a, b, again = (build_model(config(s)).state_dict() for s in (0, 1, 0))
    text = [k for k in a if k.startswith("text.") and a[k].is_floating_point()]
    image = [k for k in a if k.startswith("image.") and a[k].is_floating_point() and a[k].numel() > 1]
    assert text and image
    assert all(torch.equal(a[k], again[k]) for k in a)
    assert any(not torch.equal(a[k], b[k]) for k in text) and any(not torch.equal(a[k], b[k]) for k in image)


def test_two_seeds_read_the_files_in_two_orders_and_one_seed_in_the_same():
    assert file_order(0, 0) == file_order(0, 0) and sorted(file_order(0, 0)) == FILES
    assert file_order(0, 0) != file_order(1, 0)
    assert file_order(0, 0) != file_order(0, 1)  # and every epoch anew


class Recording:
    """A worker's dataset shard that records what ShardBatches asks it for (two batches an epoch)."""

    def __init__(self) -> None:
        self.asked: list[dict] = []

    def iter_torch_batches(self, **kwargs):
        self.asked.append(kwargs)
        return iter([{"ids": torch.zeros(2, 3)}] * 2)


def local_shuffle_seeds(seed: int, rank: int, batches: int = 6) -> list[int]:
    shard = Recording()
    it = iter(ShardBatches(4, 2, "/shards/train", files=FILES, shard=shard, seed=seed, rank=rank))
    for _ in range(batches):
        next(it)
    return [kw["local_shuffle_seed"] for kw in shard.asked]


def test_the_local_shuffle_follows_the_seed_the_worker_and_the_epoch():
    seeds = local_shuffle_seeds(0, 0)
    assert len(seeds) == 3 and len(set(seeds)) == 3  # three epochs, three shuffles
    assert seeds == local_shuffle_seeds(0, 0) == [shuffle_seed(0, 0, e) for e in range(3)]
    assert set(seeds).isdisjoint(local_shuffle_seeds(1, 0)) and set(seeds).isdisjoint(local_shuffle_seeds(0, 1))
    assert all(0 <= s < 2**32 for s in seeds)


def test_the_per_step_rng_follows_the_seed():
    assert step_seed(0, 0, 5) == step_seed(0, 0, 5) != step_seed(1, 0, 5)
