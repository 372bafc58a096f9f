"""The fixed-length tokenizer every caption goes through: content ids from a backend, then the shared rules.

A backend only turns texts into content ids (no special tokens, no truncation, no padding); ``Tokenizer`` adds
the start token (if the tokenizer has one) and the end token, truncates the content so the end token always
fits, and right-pads with the pad id. The rules therefore hold for every backend alike (see ``litlab.tokenizers``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Encode = Callable[[list[str]], list[list[int]]]  # texts -> content ids per text (no specials, any length)
Decode = Callable[[list[int]], str]  # content ids -> text

DEFAULT_MAX_LEN = 16  # tokens per caption, special tokens included: the paper's text length (Appendix D)


@dataclass(frozen=True)
class Tokenized:
    ids: np.ndarray  # (B, T) int64
    mask: np.ndarray  # (B, T) int64, 1 = real token


Tokenize = Callable[[Sequence[str]], Tokenized]  # what evaluators take: a Tokenizer, or any function like it


@dataclass(frozen=True)
class Specials:
    """Ids the rules place: ``start`` first (None = no start token), ``end`` last, ``pad`` after it."""

    pad: int
    end: int
    start: int | None = None

    def ids(self) -> list[int]:
        return [i for i in (self.pad, self.end, self.start) if i is not None]


@dataclass(frozen=True)
class Tokenizer:
    """Captions -> ``Tokenized`` of shape (B, max_len): [start] content... end, pad...; mask 1 up to end."""

    name: str
    max_len: int
    vocab_size: int  # every id, specials and pad included, is < vocab_size
    specials: Specials
    encode: Encode
    decode_content: Decode

    def __post_init__(self) -> None:
        if self.max_len < self.reserved:
            raise ValueError(f"text.max_len must be >= {self.reserved} for tokenizer {self.name!r} "
                             f"(its start and end tokens), got {self.max_len}")
        bad = [i for i in self.specials.ids() if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"tokenizer {self.name!r}: special ids {bad} outside its vocabulary of {self.vocab_size}")

    @property
    def pad_id(self) -> int:
        return self.specials.pad

    @property
    def end_id(self) -> int:
        return self.specials.end

    @property
    def start_id(self) -> int | None:
        return self.specials.start

    @property
    def reserved(self) -> int:
        """Positions the special tokens take in every row (start and end)."""
        return 1 + (self.specials.start is not None)

    def row(self, content: Sequence[int]) -> list[int]:
        """One caption's real tokens: start, the content truncated to fit, end (always last)."""
        start = [] if self.specials.start is None else [self.specials.start]
        return start + list(content[: self.max_len - self.reserved]) + [self.specials.end]

    def __reduce__(self) -> tuple:
        """Pickled by name (the backends hold closures): the receiving process loads it from its own files."""
        from litlab.tokenizers.named import get_tokenizer

        return get_tokenizer, (self.name, self.max_len)

    def __call__(self, texts: Sequence[str]) -> Tokenized:
        rows = [self.row(c) for c in self.encode([str(t) for t in texts])]
        ids = np.full((len(rows), self.max_len), self.specials.pad, dtype=np.int64)  # (B, T)
        mask = np.zeros((len(rows), self.max_len), dtype=np.int64)  # (B, T)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return Tokenized(ids, mask)

    def decode(self, tokens: Tokenized) -> list[str]:
        """The text each row's content tokens spell (start, end and pads left out): what a text tower sees."""
        out = []
        for ids, mask in zip(tokens.ids, tokens.mask, strict=True):
            real = [int(i) for i in ids[mask == 1]]
            out.append(self.decode_content(real[self.reserved - 1 : -1]))
        return out
