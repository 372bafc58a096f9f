"""Tokenizers named ``file:<absolute path or s3:// URI>``: a tokenizer.json (Hugging Face ``tokenizers``, e.g.
one trained by ``python -m litlab.tokenizers train``) or a SentencePiece ``.model``.

Paths must be absolute: Ray workers and ``ray job submit`` run in other directories. Special ids of a
tokenizer.json come from its token names (``litlab.tokenizers.hf.find_specials``).
"""

from __future__ import annotations

import posixpath

from litlab.tokenizers.base import Tokenizer

FILE_SCHEME = "file:"
SUFFIXES = (".json", ".model")
_FOUND: set[str] = set()  # files already seen to exist (s3 checks cost a request; configs are rebuilt often)


def file_target(name: str) -> str | None:
    """The path or URI of a ``file:`` tokenizer name; None for any other name."""
    return name[len(FILE_SCHEME):] if name.startswith(FILE_SCHEME) else None


def check_file(target: str, cached: bool = True) -> None:
    """Raise ValueError (bad form) or FileNotFoundError (absent), naming the file and the expected form.

    ``cached``: a file seen before is not looked up again (config validation runs on every config change)."""
    from litlab import storage

    form = "text.tokenizer=file:/abs/path/tokenizer.json (or a SentencePiece .model, or an s3:// URI)"
    remote = storage.is_remote(target)
    if not remote and not posixpath.isabs(target):
        raise ValueError(f"tokenizer file {target!r} must be an absolute path (workers run elsewhere): "
                         f"file:{posixpath.abspath(target)} if that is the one; expected {form}")
    if not target.endswith(SUFFIXES):
        raise ValueError(f"tokenizer file {target!r} must end with {' or '.join(SUFFIXES)}; expected {form}")
    if cached and target in _FOUND:
        return
    if not storage.is_file(target):
        raise FileNotFoundError(f"tokenizer file {target} does not exist (text.tokenizer=file:{target}); "
                                f"train one with `python -m litlab.tokenizers train --split SPLIT --out {target}`")
    _FOUND.add(target)


def load_file_tokenizer(target: str, max_len: int) -> Tokenizer:
    from litlab import storage

    check_file(target, cached=False)
    name = FILE_SCHEME + target
    if target.endswith(".model"):
        from litlab.tokenizers.spm import sentencepiece_tokenizer

        return sentencepiece_tokenizer(name, storage.read_bytes(target), target, max_len)
    from tokenizers import Tokenizer as Backend

    from litlab.tokenizers.hf import find_specials, from_backend

    backend = Backend.from_str(storage.read_text(target))
    return from_backend(name, backend, find_specials(backend, target), max_len)
