"""Which emoji are held out of every tuning split: one fraction, one draw, shared by the build and the evaluators.

An emoji is held out when a hash of its key (``emoji/1F600``) falls below ``HELDOUT_FRACTION``: the choice
depends on nothing but the key, so it is the same whatever subset of emoji a build renders (``limit``), on every
machine, and whichever package draws the emoji. The demo build (``litlab.data.build``) leaves these out of
``train/`` and ``train-fmnist/`` and renders them into ``emoji-heldout/``; the evaluation set
``emoji-vendors-heldout`` draws the same ones in Apple's and Twitter's art. Change the fraction here and
nowhere else (it is part of every split's recipe, so the build then rebuilds the emoji splits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from litlab.data.sources.emoji import EmojiEntry

HELDOUT_FRACTION = 0.1  # about 171 of the 1870 emoji without skin tones in Unicode 15.0's emoji-test.txt


def is_heldout(key: str, fraction: float = HELDOUT_FRACTION) -> bool:
    """A stable pseudo-random draw from the key: True for about ``fraction`` of all keys."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the held-out fraction must be in [0, 1), got {fraction}")
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64 < fraction


def heldout_entries(entries: Sequence[EmojiEntry], fraction: float = HELDOUT_FRACTION) -> list[EmojiEntry]:
    """The held-out emoji of ``entries``, in their order."""
    return [e for e in entries if is_heldout(e.key, fraction)]
