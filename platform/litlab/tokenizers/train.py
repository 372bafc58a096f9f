"""Tokenizers trained on the training captions (Hugging Face ``tokenizers`` trainers), saved as tokenizer.json.

Kinds (``KINDS``), all lower-cased, all with special tokens [PAD]=0, [UNK]=1, [CLS]=2 (start), [SEP]=3 (end):

- ``wordpiece``: BERT's uncased normalizer (accents stripped) and pre-tokenizer, ``##`` continuation pieces;
  unseen characters -> [UNK].
- ``bpe``: byte-level BPE (GPT-2/RoBERTa style, a space marker before each word); any text, no [UNK].
- ``unigram``: SentencePiece-style unigram LM over NFKC text with ``▁`` word markers; unseen characters -> [UNK].

Captions stream from a shard folder (local or s3://) through ``litlab.data.shards.iter_rows``; nothing is
held in memory beyond the trainer's word counts. The saved file is used as ``text.tokenizer=file:<path>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from litlab.registry import Registry

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")  # ids 0, 1, 2, 3 in every trained tokenizer
PROGRESS_EVERY = 10_000  # captions between progress lines
BATCH = 1000  # captions per batch handed to the trainer


@dataclass(frozen=True)
class Recipe:
    """An untrained ``tokenizers.Tokenizer`` (model, normalizer, pre-tokenizer, decoder) and its trainer."""

    backend: Any
    trainer: Any


@dataclass(frozen=True)
class Trained:
    out: str  # where the tokenizer.json was written
    kind: str
    vocab_size: int  # actual size (may be below the requested one on a small corpus)
    captions: int

    @property
    def name(self) -> str:
        """The ``text.tokenizer`` value that uses it."""
        return f"file:{self.out}"


KINDS: Registry[Callable[[int], Recipe]] = Registry("tokenizer kind")


def _require_vocab(kind: str, vocab_size: int, minimum: int) -> None:
    if vocab_size < minimum:
        raise ValueError(f"--vocab-size {vocab_size} is too small for {kind}: at least {minimum}")


def _squeeze_whitespace() -> list:
    """Normalizers that turn whitespace runs into one space and strip the ends (captions, not code)."""
    from tokenizers import Regex, normalizers

    return [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]


@KINDS.register("wordpiece")
def wordpiece(vocab_size: int) -> Recipe:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    _require_vocab("wordpiece", vocab_size, len(SPECIAL_TOKENS) + 1)
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    return Recipe(backend, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                                     show_progress=False))


@KINDS.register("bpe")
def bpe(vocab_size: int) -> Recipe:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    _require_vocab("byte-level bpe", vocab_size, len(alphabet) + len(SPECIAL_TOKENS) + 1)
    backend = Tokenizer(models.BPE())
    backend.normalizer = normalizers.Sequence([normalizers.NFC(), *_squeeze_whitespace(), normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    backend.decoder = decoders.ByteLevel()
    return Recipe(backend, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                               initial_alphabet=alphabet, show_progress=False))


@KINDS.register("unigram")
def unigram(vocab_size: int) -> Recipe:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    _require_vocab("unigram", vocab_size, len(SPECIAL_TOKENS) + 1)
    backend = Tokenizer(models.Unigram())
    backend.normalizer = normalizers.Sequence([normalizers.NFKC(), *_squeeze_whitespace(), normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always")
    backend.decoder = decoders.Metaspace(prepend_scheme="always")
    return Recipe(backend, trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                                   unk_token="[UNK]", show_progress=False))


def batches(texts: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    it = iter(texts)
    while chunk := list(islice(it, size)):
        yield chunk


def train_tokenizer(texts: Iterable[str], kind: str, vocab_size: int):
    """A trained ``tokenizers.Tokenizer`` whose post-processor wraps texts as [CLS] ... [SEP] (for other users
    of the file; litlab adds the special tokens itself)."""
    from tokenizers.processors import TemplateProcessing

    recipe = KINDS.get(kind)(vocab_size)
    recipe.backend.train_from_iterator(batches(texts), trainer=recipe.trainer)
    ids = {tok: recipe.backend.token_to_id(tok) for tok in SPECIAL_TOKENS}
    if [ids[t] for t in SPECIAL_TOKENS] != list(range(len(SPECIAL_TOKENS))):
        raise RuntimeError(f"trained {kind} tokenizer numbered its special tokens {ids}, expected 0..3")
    recipe.backend.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])])
    return recipe.backend


class Captions:
    """The non-blank captions of a split folder (local or s3://; its caption column as training finds it,
    ``litlab.data.layout``: litlab shards' txt, img2dataset's caption), streamed once; counts them and reports
    progress every PROGRESS_EVERY. A folder training cannot read is a DataError saying how to build shards."""

    def __init__(self, split: str, progress: Callable[[str], None] = print, caption_column: str = "") -> None:
        from litlab.data.layout import folder_layout

        self.column = folder_layout(split, caption_column=caption_column).caption
        self.split, self.progress, self.count = split, progress, 0

    def __iter__(self) -> Iterator[str]:
        from litlab.data.shards import iter_rows

        for row in iter_rows(self.split, [self.column]):
            text = (row[self.column] or "").strip()
            if text:
                self.count += 1
                if self.count % PROGRESS_EVERY == 0:
                    self.progress(f"read {self.count:,} captions")
                yield text
        self.progress(f"read {self.count:,} captions in all")


def train_on_split(split: str, kind: str, vocab_size: int, out: str,
                   progress: Callable[[str], None] = print) -> Trained:
    """Train a ``kind`` tokenizer on the captions of ``split`` and write it to ``out`` (local path or s3://)."""
    from litlab import storage

    if not storage.is_remote(out):
        out = str(storage.resolve(out)[1])  # absolute: the name must work from any working directory
    if not out.endswith(".json"):
        raise ValueError(f"--out {out!r} must end with .json (a Hugging Face tokenizer.json)")
    KINDS.get(kind)  # an unknown kind fails before any reading
    captions = Captions(split, progress)
    backend = train_tokenizer(captions, kind, vocab_size)
    if captions.count == 0:
        raise ValueError(f"no captions in {split} (its {captions.column} column is empty): nothing to train on")
    storage.write_bytes_atomic(out, backend.to_str(pretty=True).encode("utf-8"))
    return Trained(out=out, kind=kind, vocab_size=backend.get_vocab_size(), captions=captions.count)
