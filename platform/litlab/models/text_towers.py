"""Text towers by name: each maps token ids and a mask (B, T) to pooled features (B, feature_dim).

Names are ``<family>_<size>`` (sizes as width/layers/heads); every factory takes ``(pretrained, vocab_size, max_len)``:

- ``minilm_l6``: BERT, all-MiniLM-L6-v2 (384/6/12), pretrained weights from the zoo entry ``minilm_l6`` (or
  random init when built for letter u). Pooling: mean.
- ``minilm_l6_scratch``: the same BERT, always random init (same parameter names and shapes). Pooling: mean.
- ``bert_tiny|small|base``: BERT from a config, 128/2/2, 512/4/8, 768/12/12 (BERT-Tiny/Small/Base). Pooling: mean.
- ``t5_tiny|small|base``: T5 encoder from a config, 128/2/2, 512/6/8, 768/12/12 (T5-small/base encoders),
  relative position buckets. Pooling: mean.
- ``transformer_tiny|small|base``: the ViT-style text transformer from scratch (LiT's; bidirectional, pre-LN,
  learned positions), 128/2/4, 384/12/6 (ViT-S), 768/12/12 (ViT-B). Pooling: last real (END) token.

Only the names in ``PRETRAINED_TEXT_TOWERS`` have weights (settings L/U); every tower builds randomly initialised
for letter u, seeded by ``torch.manual_seed`` before the call.

Padding and pooling rules:

- Inputs are the tokenizer's right-padded ids and mask (``litlab.tokenizers``): mask 1 = real token. The pad id
  is the tokenizer's (0 for WordPiece) and no tower relies on it: the mask alone hides pads from attention and
  pooling, and random-init towers reserve no embedding row for padding, so any tokenizer and vocabulary size
  works. Appending pads, or changing the ids under mask 0, leaves the features unchanged.
- ``mean`` (BERT, T5): the average of the final token states over mask == 1.
- ``last`` (transformer_*): the final state at the END token, the last position with mask == 1 in each row
  (WordPiece's [SEP]; a truncated caption's last kept token).
- An all-pad row gives finite features (zeros for mean pooling, position 0 for last-token pooling).

The families live in ``litlab.models.text`` (base, bert, t5, vit); this module is the registry and facade.
"""

from __future__ import annotations

from collections.abc import Callable

from litlab.models.text.base import TextTower, TowerSize, last_token_pool, mean_pool
from litlab.models.text.bert import BERT_SIZES, BertTower, build_bert, build_minilm
from litlab.models.text.t5 import T5_SIZES, T5Tower, build_t5
from litlab.models.text.vit import VIT_TEXT_SIZES, TextTransformer
from litlab.registry import Registry, did_you_mean

__all__ = ["TEXT_TOWERS", "PRETRAINED_TEXT_TOWERS", "PRETRAINED_TOKENIZERS",
           "BertTower", "T5Tower", "TextTower", "TextTransformer",
           "build_text_tower", "last_token_pool", "mean_pool", "pretrained_text_towers"]

TextTowerFactory = Callable[[bool, int, int], TextTower]  # (pretrained, vocab_size, max_len) -> tower
PRETRAINED_TEXT_TOWERS = ("minilm_l6",)
PRETRAINED_TOKENIZERS = {"minilm_l6": "wordpiece_minilm"}  # the vocabulary its pretrained embeddings index


class TextTowerRegistry(Registry[TextTowerFactory]):
    """A registry whose unknown-name error lists the pretrained towers first (the only ones L/U accept)."""

    def unknown_message(self, name: str) -> str:
        scratch = [n for n in self.names() if n not in PRETRAINED_TEXT_TOWERS]
        return (f"unknown {self.kind} {name!r}{did_you_mean(name, self.names())}; valid: "
                f"{', '.join(PRETRAINED_TEXT_TOWERS)} (pretrained weights or random init), "
                f"{', '.join(scratch)} (random init only)")


TEXT_TOWERS = TextTowerRegistry("text tower")


def pretrained_text_towers() -> list[str]:
    return list(PRETRAINED_TEXT_TOWERS)


def build_text_tower(arch: str, pretrained: bool, vocab_size: int, max_len: int) -> TextTower:
    return TEXT_TOWERS.get(arch)(pretrained, vocab_size, max_len)


@TEXT_TOWERS.register("minilm_l6")
def minilm_l6(pretrained: bool, vocab_size: int, max_len: int) -> TextTower:
    """BERT architecture of all-MiniLM-L6-v2 (6 layers, 384-d); pretrained weights from the zoo (litlab.zoo)."""
    return build_minilm(pretrained, vocab_size)


def _random_init_only(name: str, build: Callable[[int, int], TextTower], doc: str) -> TextTowerFactory:
    """A factory for tower ``name`` that has no weights: it refuses ``pretrained=True`` with the valid choices."""

    def factory(pretrained: bool, vocab_size: int, max_len: int) -> TextTower:
        if pretrained:
            raise ValueError(f"text tower {name!r} has no pretrained weights; settings L/U need one of: "
                             f"{', '.join(pretrained_text_towers())}")
        return build(vocab_size, max_len)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = doc
    return factory


def _register_random_init(name: str, build: Callable[[int, int], TextTower], doc: str) -> None:
    TEXT_TOWERS.register(name)(_random_init_only(name, build, doc))


def _size_doc(family: str, size: TowerSize) -> str:
    return f"{family}: width {size.width}, {size.layers} layers, {size.heads} heads, MLP {size.mlp}; random init."


_register_random_init("minilm_l6_scratch", lambda vocab, max_len: build_minilm(False, vocab),
                      "all-MiniLM-L6-v2's BERT architecture, randomly initialised from its config.json.")
for _size, _dims in BERT_SIZES.items():
    _register_random_init(f"bert_{_size}", lambda vocab, max_len, d=_dims: build_bert(d, vocab, max_len),
                          _size_doc("BERT", _dims))
for _size, _dims in T5_SIZES.items():
    _register_random_init(f"t5_{_size}", lambda vocab, max_len, d=_dims: build_t5(d, vocab),
                          _size_doc("T5 encoder", _dims))
for _size, _dims in VIT_TEXT_SIZES.items():
    _register_random_init(f"transformer_{_size}", lambda vocab, max_len, d=_dims: TextTransformer(vocab, max_len, d),
                          _size_doc("ViT-style text transformer, pooled at the end token", _dims))
