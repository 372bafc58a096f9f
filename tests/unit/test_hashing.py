"""Content and perceptual hashes on real photos (scikit-image ships them) and their real edits."""

import io

import numpy as np
import pytest
from litlab.data.hashing import content_hash, hamming, phash, to_signed
from PIL import Image, ImageEnhance
from skimage import data as photos

PHOTOS = {"astronaut": photos.astronaut(), "coffee": photos.coffee(), "chelsea": photos.chelsea(),
          "rocket": photos.rocket()}


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("name", PHOTOS)
def test_near_duplicates_are_close_and_other_photos_far(name):
    img = Image.fromarray(PHOTOS[name])
    h = phash(encode(img))
    edits = {
        "jpeg q40": encode(img.convert("RGB"), "JPEG", quality=40),
        "half size": encode(img.resize((img.width // 2, img.height // 2))),
        "brighter": encode(ImageEnhance.Brightness(img).enhance(1.15)),
        "2% crop": encode(img.crop((img.width // 50, img.height // 50, img.width, img.height))),
    }
    for what, edited in edits.items():
        assert hamming(h, phash(edited)) <= 10, what
    for other in PHOTOS:
        if other != name:
            assert hamming(h, phash(Image.fromarray(PHOTOS[other]))) > 20, other


def test_content_hash_is_about_pixels_not_bytes():
    img = Image.fromarray(PHOTOS["coffee"])
    assert content_hash(encode(img, "PNG")) == content_hash(encode(img, "PNG", compress_level=1))  # other bytes
    changed = np.array(PHOTOS["coffee"])
    changed[0, 0, 0] ^= 1
    assert content_hash(encode(img)) != content_hash(Image.fromarray(changed))


def test_hashes_fit_int64_and_hamming_is_symmetric():
    h = phash(Image.fromarray(PHOTOS["rocket"]))
    assert 0 <= h < 1 << 64 and -(1 << 63) <= to_signed(h) < 1 << 63
    assert hamming(to_signed(h), h) == 0 and hamming(h, h ^ 0b1011) == 3 == hamming(h ^ 0b1011, h)
