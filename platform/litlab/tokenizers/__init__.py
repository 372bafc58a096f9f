"""Tokenizers by name: fixed-length token ids and attention masks for captions.

Names (``text.tokenizer``; the paper's Table 4 compares WordPiece "WP" and SentencePiece "SP"), each with its
vocabulary, start / end / pad ids:

- ``wordpiece_minilm``: uncased WordPiece of all-MiniLM-L6-v2 (beside the zoo's ``minilm_l6`` weights); 30,522;
  [CLS]=101 / [SEP]=102 / [PAD]=0.
- ``sentencepiece_mistral``: cased SentencePiece BPE with byte fallback, Mistral-7B v1's tokenizer.model.v1
  (pip mistral-common); 32,000; <s>=1 / </s>=2 / <unk>=0 (a model without a pad piece pads with unk, which byte
  fallback never emits).
- ``bpe_clip``: CLIP's lower-cased byte-level BPE (pip open-clip-torch's merges file; ``clip_bpe``); 49,408;
  <|startoftext|>=49406 / <|endoftext|>=49407 / 0 as in CLIP: ids equal ``open_clip.tokenize(texts, max_len)``
  for text that ftfy leaves alone.
- ``file:/abs/path/tokenizer.json``: any Hugging Face tokenizer.json (``files``, ``hf``): specials found by name,
  start [CLS] / <s> / <|startoftext|> (optional), end [SEP] / </s> / <|endoftext|> (required), pad [PAD] / <pad>
  (else 0). ``file:/abs/path/sp.model``: any SentencePiece model: BOS / EOS / pad, else unk.

Trained tokenizers (``python -m litlab.tokenizers train --split SHARDS --kind wordpiece|bpe|unigram --vocab-size N
--out /abs/tokenizer.json``) have [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3. ``file:`` paths must be absolute (or s3://).

Padding and pooling rules, the same for every tokenizer:

- A caption becomes exactly ``max_len`` ids (``text.max_len``, default 16 as in the paper, special tokens
  included) and a mask: ``[start] content... end pad pad ...``; mask 1 on start..end, 0 on the pads.
- The end token is always the last real token: a caption too long loses its tail content, never its end token
  (CLIP's and BERT's truncation rule). An empty caption is ``[start] end``. Characters a vocabulary lacks become its
  unk token (WordPiece, unigram) or their UTF-8 bytes (byte-level BPE, CLIP, Mistral's SentencePiece).
- Padding is on the right with ``pad_id``. The pad id may also be a real token's id (CLIP pads with 0, its "!"):
  the mask, never the id, marks padding. Text towers read nothing under mask 0.
- Pooling (``litlab.models.text_towers``): ``last`` takes the state at the last position with mask 1, the end
  token; ``mean`` averages the states under mask 1 (start and end included).
- ``vocab_size`` exceeds every id the tokenizer emits, pad and specials included: random-init towers size their
  embedding table from it; pretrained ``minilm_l6`` needs ``wordpiece_minilm``'s 30,522.
"""

from litlab.tokenizers import shipped as _shipped  # noqa: F401 - registers the shipped tokenizers
from litlab.tokenizers.base import DEFAULT_MAX_LEN, Specials, Tokenize, Tokenized, Tokenizer
from litlab.tokenizers.files import FILE_SCHEME
from litlab.tokenizers.named import TOKENIZERS, TokenizerRegistry, check_tokenizer, get_tokenizer

__all__ = ["DEFAULT_MAX_LEN", "FILE_SCHEME", "TOKENIZERS", "Specials", "Tokenize", "Tokenized", "Tokenizer",
           "TokenizerRegistry", "check_tokenizer", "get_tokenizer"]
