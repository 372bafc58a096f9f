"""CLIP's byte-level BPE (49,408 tokens) rebuilt on the ``tokenizers`` library from the merges file CLIP ships.

Follows CLIP's ``SimpleTokenizer`` (also open_clip's): text cleaned (HTML entities unescaped twice, whitespace
runs collapsed, stripped) and lower-cased; split by CLIP's regex into contractions, letter runs, single digits
and runs of other symbols, whitespace dropped; each piece's UTF-8 bytes mapped to printable characters (GPT-2's
byte-to-unicode table); BPE with the first 48,894 merges, the last symbol of each piece carrying the ``</w>``
end-of-word suffix. Vocabulary: the 256 byte symbols, the same 256 with ``</w>``, one token per merge, then
``<|startoftext|>`` = 49406 and ``<|endoftext|>`` = 49407. Ids match CLIP's for any text ftfy leaves alone;
instead of ftfy (not a dependency) the cleaner applies NFC and straightens curly quotes, ftfy's commonest fixes.
"""

from __future__ import annotations

import gzip
import html
import unicodedata
from functools import lru_cache
from pathlib import Path

CLIP_MERGES = 49152 - 256 - 2  # merges CLIP uses from the file (its first line is a header)
CLIP_VOCAB = 49408
START, END = "<|startoftext|>", "<|endoftext|>"
PIECES = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""  # CLIP's regex, special tokens aside
_QUOTES = str.maketrans({"\u02bc": "'", "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'})


def clean(text: str) -> str:
    """CLIP's ``basic_clean`` + ``whitespace_clean`` + lower-casing (ftfy replaced by NFC and straight quotes)."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    return " ".join(html.unescape(html.unescape(text)).split()).lower()


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table (printable Latin-1 bytes map to themselves).

    The order matters: it numbers the first 512 tokens (the kept bytes first, then the shifted ones)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = [b for b in range(256) if b not in keep]
    table = {b: chr(b) for b in keep}
    table.update({b: chr(256 + n) for n, b in enumerate(shifted)})
    return table


def read_merges(path: Path) -> list[tuple[str, str]]:
    """The merges CLIP uses: lines 1..48894 of the gzipped file (line 0 is a version header)."""
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")[1 : CLIP_MERGES + 1]
    merges = [tuple(line.split()) for line in lines]
    if len(merges) != CLIP_MERGES or any(len(m) != 2 for m in merges):
        raise ValueError(f"{path}: expected {CLIP_MERGES} merges of two symbols each")
    return merges  # type: ignore[return-value]


def clip_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    """Token -> id exactly as CLIP numbers them (bytes, bytes + </w>, merges in order, start, end)."""
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [START, END]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    if len(vocab) != CLIP_VOCAB:
        raise ValueError(f"CLIP vocabulary has {len(vocab)} distinct tokens, expected {CLIP_VOCAB}")
    return vocab


def build_clip_backend(path: Path):
    """A ``tokenizers.Tokenizer`` with CLIP's pre-tokenization and BPE; text must already be ``clean``-ed.

    Start and end stay plain vocabulary entries (not added tokens), so a caption that spells
    ``<|endoftext|>`` is tokenized as text; ``litlab.tokenizers.Tokenizer`` places the real ones."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    merges = read_merges(path)
    model = models.BPE(vocab=clip_vocab(merges), merges=merges, end_of_word_suffix="</w>",
                       continuing_subword_prefix="", fuse_unk=False)
    backend = Tokenizer(model)
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PIECES), behavior="removed", invert=True),  # keep the matches: re.findall
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    backend.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Replace("</w>", " ")])
    return backend
