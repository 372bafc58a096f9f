"""The shipped ImageNet weights, converted into timm, recognise real photos (scikit-image ships them)."""

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from litlab.models.ports import PORTS, load_ported_model, shipped_file

PHOTOS = {"coffee": (data.coffee, {967, 968, 504}),  # espresso, cup, coffee mug
          "chelsea": (data.chelsea, {281, 282, 285})}  # tabby, tiger cat, Egyptian cat


def batch(image: np.ndarray, mean, std) -> torch.Tensor:
    x = torch.from_numpy(np.array(Image.fromarray(image).resize((224, 224), Image.BILINEAR))).float() / 255
    return ((x - torch.tensor(mean)) / torch.tensor(std)).permute(2, 0, 1)[None]  # (1, 3, 224, 224)


@pytest.mark.parametrize("name", PORTS.names())
def test_port_puts_the_right_imagenet_class_in_the_top5(name):
    port, model = PORTS.get(name), load_ported_model(name).eval()
    for photo, (load, classes) in PHOTOS.items():
        with torch.no_grad():
            top5 = set(model(batch(load(), port.mean, port.std)).topk(5).indices[0].tolist())
        assert top5 & classes, f"{name} on {photo}: top-5 {sorted(top5)} misses {sorted(classes)}"
    with torch.no_grad():
        top1 = model(batch(data.coffee(), port.mean, port.std)).argmax().item()
    assert top1 in PHOTOS["coffee"][1]


def test_mobilenet_port_equals_torchvision_exactly():
    import torchvision

    ref = torchvision.models.mobilenet_v2()
    ref.load_state_dict(torch.load(shipped_file(PORTS.get("mobilenet_v2")), weights_only=True))
    x = batch(data.chelsea(), PORTS.get("mobilenet_v2").mean, PORTS.get("mobilenet_v2").std)
    with torch.no_grad():
        torch.testing.assert_close(load_ported_model("mobilenet_v2").eval()(x), ref.eval()(x), atol=1e-4, rtol=1e-4)


def test_headless_model_drops_only_the_classifier():
    model = load_ported_model("mobilenet_v2", num_classes=0).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, model.num_features)
