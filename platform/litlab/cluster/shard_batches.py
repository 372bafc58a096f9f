"""A worker's endless stream of training batches from its Ray Data shard, with a resumable data position.

The position is (epoch, batches taken in that epoch). A run restarted from a checkpoint skips that many
batches of a new pass, so each epoch still covers the data once in total. Ray Data's streaming split assigns
blocks to workers as they ask, so the rows behind a position are not bit-identical across runs; the epoch
accounting is what is kept.

Order follows ``train.seed``: the files' order (litlab.cluster.data.file_shuffle) and the local shuffle buffer,
whose seed is mixed from (seed, rank, epoch) so each worker and each epoch shuffle differently, and a replicate at
another seed differently again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import ray.train
import torch

from litlab import storage
from litlab.config import ConfigError
from litlab.data.shards import verify_split


def shuffle_seed(seed: int, rank: int, epoch: int) -> int:
    """The local shuffle buffer's seed for one worker's epoch, mixed from the three numbers (< 2**32)."""
    return int(np.random.SeedSequence([seed, rank, epoch]).generate_state(1, np.uint32)[0])


class ShardBatches:
    """Iterate batches of ``batch_size / world`` rows, epoch after epoch; ``position`` is checkpointable."""

    def __init__(self, batch_size: int, world: int, split: str, position: dict[str, int] | None = None,
                 files: list[str] | None = None, shard: Any | None = None, seed: int = 0, rank: int = 0) -> None:
        self.per_worker = batch_size // world
        if self.per_worker < 1:
            raise ConfigError(f"data.batch_size={batch_size} is smaller than the {world} workers")
        self.split = split
        self.files = verify_split(split) if files is None else list(files)
        self.shard = shard  # anything with iter_torch_batches; default: this Train worker's dataset shard
        self.epoch, self.batch = (position or {}).get("epoch", 0), (position or {}).get("batch", 0)
        self.seed, self.rank = seed, rank

    @property
    def position(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batch": self.batch}

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        shard = self.shard if self.shard is not None else ray.train.get_dataset_shard("train")
        skip = self.batch
        while True:
            seen = 0
            for batch in self._named_failures(shard.iter_torch_batches(
                    batch_size=self.per_worker, drop_last=True, local_shuffle_buffer_size=4 * self.per_worker,
                    local_shuffle_seed=shuffle_seed(self.seed, self.rank, self.epoch))):
                seen += 1
                if seen <= skip:
                    continue
                self.batch = seen
                yield batch
            if seen == 0:
                raise RuntimeError(f"training split {self.split} gave this worker no full batch of "
                                   f"{self.per_worker} rows")
            self.epoch, self.batch, skip = self.epoch + 1, 0, 0

    def _named_failures(self, batches: Iterator[dict[str, torch.Tensor]]) -> Iterator[dict[str, torch.Tensor]]:
        """Pass batches through; a read failure caused by shards that have vanished becomes an error naming them."""
        try:
            yield from batches
        except Exception as err:
            missing = [f for f in self.files if not storage.exists(f)]
            if missing:
                raise FileNotFoundError(f"training shard(s) vanished during the run: {', '.join(missing[:5])}"
                                        f"{' ...' if len(missing) > 5 else ''} (split {self.split}); restore them "
                                        f"or rebuild the split, then re-run to resume from the last checkpoint"
                                        ) from err
            raise

    def state(self) -> dict[str, Any]:
        return {"data": self.position}
