import io
from collections import Counter

import numpy as np
import pytest
from litlab.data.transforms import (
    MAX_PIXELS,
    BadImage,
    decode,
    decode_rows,
    inception_crop,
    load_image,
    pick_caption,
    preprocess_batch,
    train_transform_kwargs,
)
from litlab.tokenizers import get_tokenizer
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
    with pytest.raises(BadImage, match="MAX_PIXELS") as err:
        decode(encoded(big, "PNG"))
    assert err.value.reason == "too_large" and MAX_PIXELS < 9000 * 9000


def test_16_bit_images_are_scaled_not_clipped_to_white():
    gray = np.asarray(PHOTO.convert("L"), np.uint16)  # (H, W) 0..255
    wide = Image.fromarray(gray * 257)  # the same picture over the full 16-bit range
    assert wide.mode == "I;16"
    out = np.asarray(decode(encoded(wide, "PNG")))
    assert np.abs(out[..., 0].astype(int) - gray).max() <= 1 and out.std() > 20


def test_palette_transparency_and_cmyk_keep_their_colours():
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([200, 10, 10] + [0, 0, 0] * 255)
    pal.info["transparency"] = 0
    assert (np.asarray(decode(encoded(pal, "PNG"))) == 255).all()  # fully transparent -> white
    cmyk = np.asarray(decode(encoded(PHOTO.convert("CMYK"), "JPEG")), int)
    assert np.abs(cmyk - np.asarray(PHOTO, int)).mean() < 8


def test_every_bad_row_is_counted_by_reason_and_good_rows_kept_in_order():
    good = encoded(PHOTO, "JPEG")
    bomb = encoded(Image.new("L", (9000, 9000)), "PNG")
    jpgs = [good, b"\xff\xd8 not a jpeg", good[: len(good) // 3], good, bomb, good, good]
    texts = ["a cat", "noise", "truncated", "  \n ", "huge", "", "last cat"]
    skipped: Counter[str] = Counter()
    kept, images, captions = decode_rows(jpgs, texts, 16, skipped=skipped)
    assert kept == [0, 6] and captions == ["a cat", "last cat"] and len(images) == 2
    assert skipped == {"corrupt_image": 2, "empty_caption": 2, "too_large": 1}


def test_one_of_several_captions_is_drawn_per_row():
    rng = np.random.default_rng(0)
    choices = ["a cat", " ", "a tabby cat", "chelsea"]
    drawn = {pick_caption("a cat", choices, rng) for _ in range(200)}
    assert drawn == {"a cat", "a tabby cat", "chelsea"}  # never the blank one
    assert pick_caption("only", None, rng) == "only" and pick_caption("x", [" ", ""], None) == "x"
    assert pick_caption("a cat", choices, None) == "a cat"  # no rng (evaluation): the first


def test_preprocess_drops_bad_rows_and_keeps_the_rest():
    good = encoded(PHOTO, "JPEG")
    batch = {"jpg": [good, b"not an image", good, good], "txt": ["a cat", "a cat", "   ", "another cat"]}
    skipped: Counter[str] = Counter()
    out = preprocess_batch(batch, size=32, tokenizer="wordpiece_minilm", max_len=16, skipped=skipped)
    assert out["image"].shape == (2, 32, 32, 3) and out["ids"].shape == (2, 16) and out["mask"].shape == (2, 16)
    assert skipped == {"corrupt_image": 1, "empty_caption": 1}


def test_preprocess_trains_on_the_txts_column_when_present():
    good = encoded(PHOTO, "JPEG")
    batch = {"jpg": [good], "txt": ["a cat"], "txts": [np.array(["zebra crossing"], dtype=object)]}
    out = preprocess_batch(batch, size=16, tokenizer="wordpiece_minilm", max_len=16, seed=0)
    assert (out["ids"] == get_tokenizer("wordpiece_minilm", 16)(["zebra crossing"]).ids).all()


def test_a_runs_training_transform_follows_its_config():
    from litlab.config import RunConfig, apply_overrides

    cfg = apply_overrides(RunConfig(), {"image.size": 24, "text.max_len": 8, "data.crop_area_min": 0.3})
    kw = train_transform_kwargs(cfg)
    assert kw == {"size": 24, "tokenizer": cfg.text.tokenizer, "max_len": 8, "area_min": 0.3}
    out = preprocess_batch({"jpg": [encoded(PHOTO, "JPEG")], "txt": ["a cat"]}, **kw)
    assert out["image"].shape == (1, 24, 24, 3) and out["ids"].shape == (1, 8)
