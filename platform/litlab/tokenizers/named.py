"""The tokenizer registry: shipped tokenizers by name, plus ``file:<path>`` for any tokenizer file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache, partial

from litlab.registry import Registry, UnknownNameError, did_you_mean
from litlab.tokenizers.base import DEFAULT_MAX_LEN, Tokenizer
from litlab.tokenizers.files import FILE_SCHEME, check_file, file_target, load_file_tokenizer

TokenizerFactory = Callable[[int], Tokenizer]  # max_len -> tokenizer


class TokenizerRegistry(Registry[TokenizerFactory]):
    """Registered names, and ``file:<absolute path or s3:// URI>`` for tokenizer.json / SentencePiece files."""

    def get(self, name: str) -> TokenizerFactory:
        target = file_target(name)
        if target is not None:
            return partial(load_file_tokenizer, target)
        return super().get(name)

    def unknown_message(self, name: str) -> str:
        return (f"unknown {self.kind} {name!r}{did_you_mean(name, self.names())}; valid: {', '.join(self.names())}, or "
                f"{FILE_SCHEME}/abs/path/tokenizer.json (a trained one: python -m litlab.tokenizers train)")


TOKENIZERS = TokenizerRegistry("tokenizer")


def check_tokenizer(name: str) -> None:
    """Raise, with the valid choices or the file's problem, unless ``name`` is usable: a registered name, or
    ``file:`` + an absolute path / s3:// URI of an existing .json or .model file."""
    target = file_target(name)
    if target is None:
        TOKENIZERS.get(name)
    else:
        check_file(target)


@lru_cache(maxsize=16)
def _loaded(name: str) -> Tokenizer:
    return TOKENIZERS.get(name)(DEFAULT_MAX_LEN)


@lru_cache(maxsize=64)
def get_tokenizer(name: str, max_len: int = DEFAULT_MAX_LEN) -> Tokenizer:
    """Cached per process, so Ray Data tasks and workers load each tokenizer file once (for every length);
    a ``file:`` rewritten in place is seen by new processes only."""
    if max_len < 2:
        raise ValueError(f"text.max_len must be >= 2 (start and end tokens), got {max_len}")
    return replace(_loaded(name), max_len=max_len)


__all__ = ["TOKENIZERS", "TokenizerFactory", "TokenizerRegistry", "UnknownNameError", "check_tokenizer",
           "get_tokenizer"]
