"""Tokenizers whose files ship inside pip packages, registered by name (see ``litlab.tokenizers``)."""

from __future__ import annotations

from litlab.tokenizers.base import Specials, Tokenizer
from litlab.tokenizers.named import TOKENIZERS
from litlab.zoo import ZOO, package_path


@TOKENIZERS.register("wordpiece_minilm")
def wordpiece_minilm(max_len: int) -> Tokenizer:
    """MiniLM-L6's uncased WordPiece (30,522 tokens), shipped beside the zoo's ``minilm_l6`` weights; [CLS] ...
    [SEP], pad [PAD]=0."""
    from tokenizers import Tokenizer as Backend

    from litlab.tokenizers.hf import from_backend

    minilm = ZOO.get("minilm_l6")
    backend = Backend.from_file(str(package_path(minilm.package, f"{minilm.relpath}/tokenizer.json")))
    specials = Specials(pad=backend.token_to_id("[PAD]"), end=backend.token_to_id("[SEP]"),
                        start=backend.token_to_id("[CLS]"))
    return from_backend("wordpiece_minilm", backend, specials, max_len)


@TOKENIZERS.register("sentencepiece_mistral")
def sentencepiece_mistral(max_len: int) -> Tokenizer:
    """Mistral-7B v1's cased SentencePiece BPE with byte fallback (32,000 tokens), shipped by mistral-common;
    <s>=1 ... </s>=2, pad <unk>=0 (never emitted thanks to byte fallback)."""
    from litlab.tokenizers.spm import sentencepiece_tokenizer

    path = package_path("mistral-common", "data/tokenizer.model.v1")
    return sentencepiece_tokenizer("sentencepiece_mistral", path.read_bytes(), str(path), max_len)


@TOKENIZERS.register("bpe_clip")
def bpe_clip(max_len: int) -> Tokenizer:
    """CLIP's lower-cased byte-level BPE (49,408 tokens), shipped by open-clip-torch; <|startoftext|>=49406 ...
    <|endoftext|>=49407, pad 0 as in CLIP (ids equal open_clip.tokenize(texts, context_length=max_len))."""
    from litlab.tokenizers.clip_bpe import END, START, build_clip_backend, clean
    from litlab.tokenizers.hf import from_backend

    backend = build_clip_backend(package_path("open-clip-torch", "bpe_simple_vocab_16e6.txt.gz", module="open_clip"))
    specials = Specials(pad=0, end=backend.token_to_id(END), start=backend.token_to_id(START))
    return from_backend("bpe_clip", backend, specials, max_len, clean=clean)
