"""Apply a setup's letters to a built model: L locks a tower; U and u leave it trainable.

Pretrained (L, U) versus random init (u) is decided when the towers are built (``litlab.models.build``);
locking happens here. A locked tower has no gradients, stays in eval mode, and gets no optimizer state.

Delayed unlock (paper Appendix H): ``unlock`` makes a locked tower trainable part-way through training
(``optim.unlock_image_at`` / ``optim.unlock_text_at``); the loop then adds its parameters to the optimizer.
"""

from __future__ import annotations

from torch import nn

from litlab.config import validate_setup
from litlab.models.two_tower import TwoTower

TOWERS = ("image", "text")


def apply_setup(model: TwoTower, setup: str) -> TwoTower:
    validate_setup(setup)
    locked = {tower for tower, letter in zip(TOWERS, setup, strict=True) if letter == "L"}
    for tower in TOWERS:
        getattr(model, tower).requires_grad_(tower not in locked)
    model.locked = frozenset(locked)
    model.train(model.training)
    return model


def unlock(model: TwoTower, tower: str) -> list[nn.Parameter]:
    """Make a locked tower trainable: gradients on, train mode when the model trains; returns its parameters."""
    if tower not in model.locked:
        raise ValueError(f"cannot unlock the {tower} tower: it is not locked (locked: {sorted(model.locked) or 'none'})"
                         "; delayed unlock needs setup letter L for that tower")
    module = getattr(model, tower)
    module.requires_grad_(True)
    model.locked = model.locked - {tower}
    model.train(model.training)  # the tower now follows the model's mode (BatchNorm statistics update again)
    return list(module.parameters())
