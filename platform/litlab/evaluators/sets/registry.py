"""EVAL_SETS: evaluation-set name -> loader ``fn(root, size, max_images) -> LabelledEvalSet | RetrievalSet | ...``.

``root`` is where the source lives (None = its standard install location; loaders of users' own data need
it), ``size`` the image tower's input size, ``max_images`` how many images to keep (0 = all) for quick runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from litlab.evaluators.sets.types import EvalSet
from litlab.registry import Registry


class Loader(Protocol):
    def __call__(self, root: str | Path | None, size: int, max_images: int = 0) -> EvalSet: ...


EVAL_SETS: Registry[Loader] = Registry("evaluation set")


def load_eval_set(name: str, root: str | Path | None = None, size: int = 224, max_images: int = 0) -> EvalSet:
    """The evaluation set registered as ``name``; unknown names list the registered ones."""
    return EVAL_SETS.get(name)(root, size, max_images)
