"""A SentencePiece ``.model`` file run by the ``sentencepiece`` library (the reference implementation).

Chosen over converting the model into a ``tokenizers`` backend: the library reads the model's own normalizer
and byte-fallback settings, so ids are exact by construction; a conversion would rebuild BPE merges from piece
scores through transformers' private converter and protobuf schema, and would still need this library to prove
it exact. The wheel is small (~1.4 MB) and has no dependencies.
"""

from __future__ import annotations

from litlab.tokenizers.base import Specials, Tokenizer


def _processor(model: bytes):
    try:
        import sentencepiece
    except ImportError as err:
        raise ImportError("SentencePiece tokenizers need the sentencepiece package: pip install sentencepiece "
                          "(see pyproject.toml)") from err
    return sentencepiece.SentencePieceProcessor(model_proto=model)


def sentencepiece_tokenizer(name: str, model: bytes, source: str, max_len: int) -> Tokenizer:
    """The serialized model ``model`` (read from ``source``). BOS first, EOS last (the end token); pad = the
    model's pad id, else its unk id (0 in most models).

    Models trained with byte fallback (Mistral's, Llama's) never emit unk, so padding with it collides with
    no real token; either way the mask, not the id, marks padding."""
    sp = _processor(model)
    if sp.eos_id() < 0:
        raise ValueError(f"SentencePiece model {source} has no EOS piece: text towers pool at the end token")
    pad = sp.pad_id() if sp.pad_id() >= 0 else max(sp.unk_id(), 0)
    start = sp.bos_id() if sp.bos_id() >= 0 else None

    def encode(texts: list[str]) -> list[list[int]]:
        return sp.encode(texts, num_threads=1) if texts else []

    def decode(ids: list[int]) -> str:
        return sp.decode(ids)

    return Tokenizer(name=name, max_len=max_len, vocab_size=sp.get_piece_size(),
                     specials=Specials(pad=pad, end=sp.eos_id(), start=start), encode=encode, decode_content=decode)
