"""An object whose unpickling runs code, to prove that loaders refuse it (no tests here)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path


class Exploit:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)
