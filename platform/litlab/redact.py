"""URIs as people may see them: in messages, saved files and reports, a URI's credentials are masked."""

from __future__ import annotations

import re


def redact(uri: str) -> str:
    """``uri`` with its secret masked, for messages and reports: ``http://user:secret@host`` ->
    ``http://user:***@host``, and a bare token ``https://token@host`` -> ``https://***@host``."""

    def mask(m: re.Match[str]) -> str:
        user, colon, _ = m[2].partition(":")
        return f"{m[1]}{user}:***@" if colon else f"{m[1]}***@"

    return re.sub(r"^([a-z][a-z0-9+.-]*://)([^/]*)@", mask, uri, flags=re.IGNORECASE)
