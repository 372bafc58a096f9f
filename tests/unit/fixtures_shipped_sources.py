"""Options for a small real build of each shard source that reads shipped (Debian / npm) data.

``FIXTURES[name](tmp_path)`` is the options dict for ``make_source(name, options)``: strings, as on the
command line. These sources read installed packages, so ``tmp_path`` is not needed; it is there for sources
that must write their input first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def _limit(n: int, **extra: str) -> Callable[[Path], dict[str, str]]:
    return lambda tmp_path: {"limit": str(n), **extra}


FIXTURES: dict[str, Callable[[Path], dict[str, str]]] = {
    "noto-emoji": _limit(20),
    "fashion-mnist": _limit(20, split="test"),
    "tuxpaint-stamps": _limit(20, max_side="128"),
    "openclipart": _limit(20, max_side="128"),
    "emoji-styles": _limit(20),
}
