"""Adapters from a ``tokenizers.Tokenizer`` (a Hugging Face tokenizer.json) to ``litlab.tokenizers.Tokenizer``.

The backend's own post-processor, truncation and padding are bypassed (``add_special_tokens=False``); the
special ids come from the caller or, for a tokenizer.json of unknown origin, from the token names below.
"""

from __future__ import annotations

from collections.abc import Callable

from litlab.tokenizers.base import Specials, Tokenizer

# Names tried in order, per role: BERT/WordPiece, SentencePiece/T5/RoBERTa, CLIP/GPT-2, then other spellings.
START_NAMES = ("[CLS]", "<s>", "<|startoftext|>", "[BOS]", "<bos>")
END_NAMES = ("[SEP]", "</s>", "<|endoftext|>", "[EOS]", "<eos>")
PAD_NAMES = ("[PAD]", "<pad>", "<|pad|>")


def from_backend(name: str, backend, specials: Specials, max_len: int,
                 clean: Callable[[str], str] | None = None) -> Tokenizer:
    """Wrap ``backend``; ``clean`` (if given) runs on every text before the backend sees it."""
    backend.no_padding()
    backend.no_truncation()

    def encode(texts: list[str]) -> list[list[int]]:
        texts = [clean(t) for t in texts] if clean else texts
        return [e.ids for e in backend.encode_batch(texts, add_special_tokens=False)]

    def decode(ids: list[int]) -> str:
        return backend.decode(ids, skip_special_tokens=False).strip()

    return Tokenizer(name=name, max_len=max_len, vocab_size=backend.get_vocab_size(with_added_tokens=True),
                     specials=specials, encode=encode, decode_content=decode)


def _first_id(backend, names: tuple[str, ...]) -> int | None:
    for token in names:
        found = backend.token_to_id(token)
        if found is not None:
            return int(found)
    return None


def find_specials(backend, source: str) -> Specials:
    """Start, end and pad ids of a tokenizer.json by the conventional token names (``*_NAMES``).

    An end token is required (text towers pool there); no start token means rows begin with the content;
    no pad token means pad id 0 (pads are marked by the mask, never by their id)."""
    end = _first_id(backend, END_NAMES)
    if end is None:
        raise ValueError(f"tokenizer {source} has no end token (one of {', '.join(END_NAMES)}): text towers pool "
                         f"at the end token; train one with `python -m litlab.tokenizers train` or add one")
    pad = _first_id(backend, PAD_NAMES)
    return Specials(pad=0 if pad is None else pad, end=end, start=_first_id(backend, START_NAMES))
