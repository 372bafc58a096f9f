"""Captions for Open Clip Art images from their titles, file names and keywords.

Titles are tidied, not rewritten: HTML entities decoded, a "Clipart by <creator> - " prefix dropped,
underscores and CamelCase split into words, a trailing running number dropped ("Woman Police 02" ->
"Woman Police", "AfricanDrum1" -> "African Drum"). When a title is missing or names a whole series, the file
name is the fallback: its words without digits, single letters and the creator's name (Debian's names end
in a truncated author: ``armadillo_architetto_fra_01`` -> "armadillo"). Keywords become an extra caption
("Armadillo, animal") after dropping bookkeeping tags (``hash``, ``icons``, ``lemon_theme_icon`` ...), the
creator, and words the caption already has.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

CLIPART_BY = re.compile(r"^clip\s*art by .+? - ", re.IGNORECASE)
CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
RUNNING_NUMBER = re.compile(r"(?:(?<=[A-Za-z])|[\s_-]+)\d{1,3}$")
SEPARATORS = re.compile(r"[\s_.-]+")
STOP_KEYWORDS = frozenset({
    "hash", "icon", "icons", "theme", "action", "application", "appicon", "mimetypes", "filesystem",
    "lemon theme icon", "signs and symbols", "united nations member", "mapsym", "networksym", "unsorted",
    "clipart", "clip art", "openclipart", "svg", "image", "special",
})


def _words(text: str) -> str:
    return " ".join(SEPARATORS.split(text)).strip()


def clean_title(title: str) -> str:
    """A readable caption from a dc:title, or "" when nothing is left."""
    text = CLIPART_BY.sub("", html.unescape(title).strip())
    if " " not in text:
        text = CAMEL.sub(" ", text)
    text = " ".join(text.replace("_", " ").split()).strip(" -")
    return RUNNING_NUMBER.sub("", text) or text


def _name_tokens(creators: Iterable[str]) -> list[str]:
    return [t for c in creators for t in re.split(r"\W+", c.lower()) if len(t) >= 3]


def name_from_file(stem: str, creators: Iterable[str]) -> str:
    """Lower-case words of a file name, without digits, single letters or the creator's (truncated) name."""
    names = _name_tokens(creators)
    words = []
    for token in SEPARATORS.split(CAMEL.sub(" ", stem)):
        word = re.sub(r"\d+", "", token).lower()
        if len(word) >= 2 and not any(n.startswith(word) for n in names):
            words.append(word)
    return " ".join(words)


def pick_keywords(keywords: Iterable[str], caption: str, creators: Iterable[str], limit: int) -> list[str]:
    """Up to ``limit`` informative keywords, lower-case, in file order."""
    have = set(SEPARATORS.split(caption.lower()))
    who = {c.lower() for c in creators}
    picked: list[str] = []
    for keyword in keywords:
        word = _words(html.unescape(keyword).lower())
        if (len(word) < 3 or word in STOP_KEYWORDS or word in who or word in picked
                or any(ch.isdigit() for ch in word) or set(word.split()) <= have):
            continue
        picked.append(word)
    return picked[:limit]


def captions_for(caption: str, keywords: list[str]) -> tuple[str, ...]:
    """(caption,) and, with keywords, a second caption that lists them: ("Armadillo", "Armadillo, animal")."""
    return (caption, f"{caption}, {', '.join(keywords)}") if keywords else (caption,)
