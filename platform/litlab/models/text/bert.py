"""BERT-architecture text towers (transformers ``BertModel``), mean-pooled over real tokens.

``build_minilm`` is all-MiniLM-L6-v2's architecture (6 layers, 384-d, 12 heads, 512 positions), with the
pretrained weights of the zoo entry ``minilm_l6`` (``litlab.zoo``: the pip package that ships them) or randomly
initialised from the same config.json. ``build_bert`` makes BERT-Tiny/Small/Base (Turc et al. 2019 sizes) from
a config alone. Mean pooling matches how all-MiniLM-L6-v2 was trained. Dropout is BERT's default (0.1, active in
train mode).
"""

from __future__ import annotations

import torch
from torch import nn

from litlab.models.text.base import TextTower, TowerSize
from litlab.zoo import ZOO

BERT_SIZES: dict[str, TowerSize] = {
    "tiny": TowerSize(width=128, layers=2, heads=2, mlp=512),  # BERT-Tiny
    "small": TowerSize(width=512, layers=4, heads=8, mlp=2048),  # BERT-Small
    "base": TowerSize(width=768, layers=12, heads=12, mlp=3072),  # BERT-Base
}


class BertTower(TextTower):
    """A transformers BertModel (no pooler) whose token states are mean-pooled over the mask."""

    pooling = "mean"

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert
        self.feature_dim = bert.config.hidden_size

    def encode_tokens(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.bert(input_ids=ids, attention_mask=mask.long()).last_hidden_state  # (B, T, F)


def build_minilm(pretrained: bool, vocab_size: int) -> BertTower:
    """all-MiniLM-L6-v2: its weights (``pretrained``; needs its 30,522-token WordPiece) or random init.

    The random-init tower keeps every parameter name and shape of the pretrained one (its embedding table
    follows ``vocab_size``, so shapes match exactly with the WordPiece tokenizer) and, like every
    random-init tower here, reserves no embedding row for padding: the mask alone hides pads.
    """
    from transformers import BertConfig, BertModel

    folder = str(ZOO.get("minilm_l6").path())
    config = BertConfig.from_pretrained(folder, local_files_only=True)
    if not pretrained:
        config.vocab_size, config.pad_token_id = vocab_size, None
        return BertTower(BertModel(config, add_pooling_layer=False))
    if config.vocab_size != vocab_size:
        raise ValueError(f"pretrained minilm_l6 has a {config.vocab_size}-token vocabulary, the tokenizer "
                         f"{vocab_size}; use text.tokenizer=wordpiece_minilm")
    return BertTower(BertModel.from_pretrained(folder, local_files_only=True, add_pooling_layer=False))


def build_bert(size: TowerSize, vocab_size: int, max_len: int) -> BertTower:
    """A randomly initialised BERT of ``size`` with ``max_len`` learned positions."""
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=vocab_size, hidden_size=size.width, num_hidden_layers=size.layers,
                        num_attention_heads=size.heads, intermediate_size=size.mlp,
                        max_position_embeddings=max_len, pad_token_id=None)
    return BertTower(BertModel(config, add_pooling_layer=False))
