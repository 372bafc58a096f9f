"""Apply a setup's letters to a built model: L locks a tower; U and u leave it trainable.

Pretrained (L, U) versus random init (u) is decided when the towers are built (``litlab.models.build``);
locking happens here. A locked tower has no gradients, stays in eval mode, and gets no optimizer state.
"""

from __future__ import annotations

from litlab.config import validate_setup
from litlab.models.two_tower import TwoTower


def apply_setup(model: TwoTower, setup: str) -> TwoTower:
    validate_setup(setup)
    locked = {tower for tower, letter in zip(("image", "text"), setup, strict=True) if letter == "L"}
    for tower in ("image", "text"):
        getattr(model, tower).requires_grad_(tower not in locked)
    model.locked = frozenset(locked)
    model.train(model.training)
    return model


def trainable_parameters(model: TwoTower) -> list:
    return [p for p in model.parameters() if p.requires_grad]
