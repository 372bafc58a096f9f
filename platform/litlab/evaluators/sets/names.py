"""Class names made readable for prompts: "animal-mammal" -> "animal mammal", "maple_tree" -> "maple tree"."""

from __future__ import annotations

import re


def readable(name: str) -> str:
    """Hyphens and underscores become spaces, runs of spaces collapse; case and other characters stay."""
    return re.sub(r"\s+", " ", re.sub(r"[-_]", " ", name)).strip()
