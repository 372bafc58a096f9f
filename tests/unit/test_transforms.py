import io

import numpy as np
import pytest
from litlab.data.transforms import MAX_PIXELS, decode, inception_crop, load_image, preprocess_batch
from PIL import Image
from skimage import data as skdata


def encoded(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


PHOTO = Image.fromarray(skdata.chelsea())  # a real photo (300 x 451 RGB)


@pytest.mark.parametrize("mode,fmt", [("RGB", "JPEG"), ("L", "PNG"), ("P", "PNG"), ("RGBA", "PNG"), ("CMYK", "JPEG"),
                                      ("I;16", "PNG"), ("LA", "PNG")])
def test_every_image_mode_decodes_to_rgb(mode, fmt):
    img = decode(encoded(PHOTO.convert(mode) if mode != "I;16" else PHOTO.convert("L").convert("I;16"), fmt))
    assert img.mode == "RGB" and img.size == PHOTO.size


def test_transparent_pixels_become_white():
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    assert (np.asarray(decode(encoded(rgba, "PNG"))) == 255).all()


def test_resize_and_crop_shapes_and_flip():
    rng = np.random.default_rng(0)
    assert load_image(encoded(PHOTO, "JPEG"), 64).shape == (64, 64, 3)
    crops = [inception_crop(PHOTO, 32, 0.05, rng) for _ in range(8)]
    assert all(c.shape == (32, 32, 3) and c.dtype == np.uint8 for c in crops)
    assert len({c.tobytes() for c in crops}) == 8  # random


def test_decompression_bomb_is_refused():
    big = Image.new("L", (9000, 9000))
    with pytest.raises(ValueError, match="MAX_PIXELS"):
        decode(encoded(big, "PNG"))
    assert MAX_PIXELS < 9000 * 9000


def test_preprocess_drops_bad_rows_and_keeps_the_rest():
    good = encoded(PHOTO, "JPEG")
    batch = {"jpg": [good, b"not an image", good, good], "txt": ["a cat", "a cat", "   ", "another cat"]}
    out = preprocess_batch(batch, size=32, tokenizer="wordpiece_minilm", max_len=16)
    assert out["image"].shape == (2, 32, 32, 3) and out["ids"].shape == (2, 16) and out["mask"].shape == (2, 16)
