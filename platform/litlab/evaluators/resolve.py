"""Where an evaluation spec's sets are read from, and loading them with errors that say how to fix the spec.

A set is read from the spec's ``@root``; the demo shards' evaluation splits (``SHARD_SETS``) default to
``data.root``, the shipped sets to their package, and users' own copies (image-folder, coco-captions, cifar100-*,
pets-*) have no default. A set that does not load is a DataError (``litlab.errors``: not retried as a fault) naming
the spec and the fix; the preflight (``litlab.preflight``) loads a few images of each set before a sweep starts,
the evaluation suite loads them all when it first scores.
"""

from __future__ import annotations

from pathlib import Path

from litlab.errors import DataError
from litlab.evaluators.sets import EvalSet, load_eval_set

SHARD_SETS = ("fmnist-test", "emoji-heldout")  # splits of the demo shards: their root is data.root
OWN_SETS_EXAMPLE = ("zeroshot/image-folder@/data/imagenet/val,"
                    "retrieval/coco-captions@/data/coco/annotations/captions_val2017.json")


def set_root(name: str, spec_root: str | None, data_root: str) -> str | None:
    """The root set ``name`` of a spec is read from: the spec's ``@root``, else data.root for the demo shards'
    splits, else None (the set's own default)."""
    return spec_root or (data_root if name in SHARD_SETS else None)


def load_set(spec: str, name: str, spec_root: str | None, data_root: str, size: int,
             max_images: int) -> EvalSet:
    """Set ``name`` of evaluation ``spec`` at ``size`` px, at most ``max_images``; a DataError saying how to fix the
    spec when it does not load."""
    root = set_root(name, spec_root, data_root)
    try:
        return load_eval_set(name, root, size, max_images)
    except (OSError, ValueError) as err:
        raise DataError(load_problem(spec, name, spec_root, data_root, err)) from err


def load_problem(spec: str, name: str, spec_root: str | None, data_root: str, err: BaseException) -> str:
    evaluator = spec.partition("/")[0]
    if spec_root is None and name in SHARD_SETS:
        demo = Path("~/.cache/litlab/data")
        return (f"eval.evals: {spec}: {name} is a split of the demo shards, read from data.root={data_root!r} "
                f"when the spec gives no @root, and it does not load there ({err}). Give its root: "
                f"{evaluator}/{name}@{demo} (built by `make data`), or evaluate on your own sets, e.g. "
                f"--set eval.evals={OWN_SETS_EXAMPLE}")
    if spec_root is None:
        return f"eval.evals: {spec}: {err}. Write it as {evaluator}/{name}@/path/to/your/copy"
    return f"eval.evals: {spec}: {err}. Check the path after '@'"
