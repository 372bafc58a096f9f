"""Decode, crop/resize and tokenize rows (pure numpy/Pillow): the body of Ray Data's map_batches.

Images leave as uint8 (B, H, W, 3); towers normalise their own input. Every image mode becomes 8-bit RGB:
grayscale and bilevel are replicated, CMYK converted, palette/alpha images composited on white, 16- and 32-bit
integer images scaled to 8 bits (Pillow's own conversion would clip them to white).

Rows that cannot be used are dropped and counted by reason (``SKIP_REASONS``): ``no_image`` (no image bytes, or
a ``status`` other than ``success``: the rows img2dataset failed to download or resize), ``empty_caption`` (no
caption with a non-blank character), ``corrupt_image`` (bytes that do not decode), ``too_large`` (more than
``MAX_PIXELS`` pixels: a decompression bomb guard, checked from the header before any pixel is decoded).
A row with several captions (a ``txts`` list column) trains on one of them, drawn per row and step.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from litlab.tokenizers import get_tokenizer

if TYPE_CHECKING:
    from litlab.config import RunConfig

MAX_PIXELS = 64_000_000  # decompression-bomb guard
SKIP_REASONS = ("no_image", "empty_caption", "corrupt_image", "too_large")
OK_STATUS = "success"  # img2dataset's status of a row it downloaded
WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # 16/32-bit integer grayscale


class BadImage(ValueError):
    """Bytes that cannot become a training image; ``reason`` is one of SKIP_REASONS."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def open_image(data: bytes) -> Image.Image:
    """The image, its header read and checked, no pixel decoded; raises BadImage (too_large or corrupt_image)."""
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:  # Pillow's own guard (over 2x its MAX_IMAGE_PIXELS)
        raise BadImage("too_large", str(err)) from err
    except Exception as err:  # noqa: BLE001 - Pillow raises many types for unreadable bytes
        raise BadImage("corrupt_image", f"not a readable image: {err}") from err
    if img.width * img.height > MAX_PIXELS:
        raise BadImage("too_large", f"image of {img.width}x{img.height} pixels exceeds MAX_PIXELS={MAX_PIXELS}")
    return img


def decode(data: bytes) -> Image.Image:
    """Any image Pillow reads, as 8-bit RGB; raises BadImage (reason too_large or corrupt_image)."""
    img = open_image(data)
    try:
        img.load()
        return to_rgb(img)
    except Exception as err:  # noqa: BLE001 - truncated or damaged data fails here
        raise BadImage("corrupt_image", f"image data does not decode: {err}") from err


def to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB: transparency composited on white, wide integer modes scaled down, the rest converted."""
    if img.mode in WIDE_MODES:
        wide = np.asarray(img).astype(np.int64)
        top = 65535 if img.mode != "I" or wide.max() > 255 else 255  # "I" may hold 8-bit values
        img = Image.fromarray((np.clip(wide, 0, top) * 255 // top).astype(np.uint8), "L")
    elif img.mode == "F":
        img = Image.fromarray(np.clip(np.asarray(img), 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return img.convert("RGB")


def resize(img: Image.Image, size: int) -> np.ndarray:
    """Plain bilinear resize to size x size (the paper's evaluation transform)."""
    return np.asarray(img.resize((size, size), Image.BILINEAR), dtype=np.uint8)  # (H, W, 3)


def inception_crop(img: Image.Image, size: int, area_min: float, rng: np.random.Generator) -> np.ndarray:
    """Random crop covering area_min..100 % of the image, aspect 3/4..4/3, resized to size; random flip."""
    w, h = img.size
    for _ in range(10):
        area = w * h * rng.uniform(area_min, 1.0)
        aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            img = img.crop((x, y, x + cw, y + ch))
            break
    out = resize(img, size)
    return out[:, ::-1].copy() if rng.random() < 0.5 else out


def load_image(data: bytes, size: int, area_min: float = 1.0, rng: np.random.Generator | None = None) -> np.ndarray:
    img = decode(data)
    if area_min >= 1.0 or rng is None:
        return resize(img, size)
    return inception_crop(img, size, area_min, rng)


def tokenize_batch(batch: dict[str, Sequence], *, tokenizer: str, max_len: int) -> dict[str, np.ndarray]:
    """{zimg (B, F), txt} from the embedding cache -> {image: the features (B, F) float32, ids, mask}."""
    tokens = get_tokenizer(tokenizer, max_len)([str(t) for t in batch["txt"]])
    return {"image": np.asarray(np.stack(batch["zimg"]), np.float32), "ids": tokens.ids, "mask": tokens.mask}


def pick_caption(text: object, choices: object, rng: np.random.Generator | None) -> str:
    """The row's caption: one non-blank entry of ``choices`` (a list; drawn with ``rng``, else the first),
    or ``text`` when there is no such list. "" when none is usable."""
    options = [str(c).strip() for c in (choices if choices is not None else ()) if c is not None and str(c).strip()]
    if not options:
        return "" if text is None else str(text).strip()
    return options[int(rng.integers(len(options)))] if rng is not None and len(options) > 1 else options[0]


def decode_rows(jpgs: Sequence, texts: Sequence, size: int, area_min: float = 1.0,
                rng: np.random.Generator | None = None, *, choices: Sequence | None = None,
                statuses: Sequence | None = None,
                skipped: Counter[str] | None = None) -> tuple[list[int], list[np.ndarray], list[str]]:
    """(kept row indices, their images (size, size, 3) uint8, their captions). Rows with no usable caption or
    image are dropped and counted in ``skipped`` by reason. The one rule for what training (and the embedding
    cache) keeps. ``choices``: per-row caption lists (the ``txts`` column), one drawn per row with ``rng``;
    ``statuses``: img2dataset's per-row status (rows not ``success`` are ``no_image``)."""
    skipped = Counter() if skipped is None else skipped
    kept, images, captions = [], [], []
    for i, (data, text) in enumerate(zip(jpgs, texts, strict=True)):
        if data is None or (statuses is not None and statuses[i] != OK_STATUS):
            skipped["no_image"] += 1
            continue
        caption = pick_caption(text, None if choices is None else choices[i], rng)
        if not caption:
            skipped["empty_caption"] += 1
            continue
        try:
            images.append(load_image(bytes(data), size, area_min, rng))
        except BadImage as bad:
            skipped[bad.reason] += 1
            continue
        kept.append(i)
        captions.append(caption)
    return kept, images, captions


def train_transform_kwargs(cfg: RunConfig) -> dict[str, Any]:
    """``preprocess_batch``'s settings for a run's training rows (the tower's size, the tokenizer, the crop)."""
    return {"size": cfg.image.size, "tokenizer": cfg.text.tokenizer, "max_len": cfg.text.max_len,
            "area_min": cfg.data.crop_area_min}


def preprocess_batch(batch: dict[str, Sequence], *, size: int, tokenizer: str, max_len: int,
                     area_min: float = 1.0, seed: int | None = None,
                     skipped: Counter[str] | None = None) -> dict[str, np.ndarray]:
    """{jpg, txt[, txts][, status]} -> {image (B, size, size, 3) uint8, ids (B, T), mask (B, T)}; bad rows dropped
    and counted in ``skipped``."""
    _, images, texts = decode_rows(batch["jpg"], batch["txt"], size, area_min, np.random.default_rng(seed),
                                   choices=batch.get("txts"), statuses=batch.get("status"), skipped=skipped)
    tokens = get_tokenizer(tokenizer, max_len)(texts)
    image = np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)
    return {"image": image, "ids": tokens.ids, "mask": tokens.mask}
