"""Deduplicate the tuning data against evaluation images (paper Table 5): modes none | test | train+test.

Pure Python/numpy/PyTorch (no Ray): the methods (``methods``: exact sha1, perceptual hash, embedding cosine),
which evaluation sets and images (``evalsets``), the evaluation index and the per-batch match (``index``),
and a run's plan and split name (``plan``). ``litlab.cluster.dedup`` streams the shards through them with
Ray Data and writes the filtered split.
"""

from litlab.data.dedup.evalsets import MODES, ORIGINALS, SHARD_SPLITS, TRAIN_SPLIT_OF, EvalSource, dedup_sources
from litlab.data.dedup.index import DedupResult, EvalIndex, build_eval_index, dedup_rows, match_batch
from litlab.data.dedup.methods import DEDUP_METHODS, DedupMethod, Matches, get_method
from litlab.data.dedup.plan import MANIFEST, DedupPlan, check_config, plan_for

__all__ = ["DEDUP_METHODS", "MANIFEST", "MODES", "ORIGINALS", "SHARD_SPLITS", "TRAIN_SPLIT_OF", "DedupMethod",
           "DedupPlan", "DedupResult", "EvalIndex", "EvalSource", "Matches", "build_eval_index", "check_config",
           "dedup_rows", "dedup_sources", "get_method", "match_batch", "plan_for"]
