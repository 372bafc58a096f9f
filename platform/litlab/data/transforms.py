"""Decode, crop/resize and tokenize rows (pure numpy/Pillow): the body of Ray Data's map_batches.

Images leave as uint8 (B, H, W, 3); towers normalise their own input. Rows whose bytes do not decode or
whose caption is empty are dropped (``preprocess_batch`` returns how many, by reason).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from litlab.tokenizers import get_tokenizer

MAX_PIXELS = 64_000_000  # decompression-bomb guard


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    if img.width * img.height > MAX_PIXELS:
        raise ValueError(f"image of {img.width}x{img.height} pixels exceeds MAX_PIXELS={MAX_PIXELS}")
    img.load()
    if img.mode in ("RGBA", "LA", "P"):  # composite transparency on white
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
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


def decode_rows(jpgs: Sequence, texts: Sequence, size: int, area_min: float = 1.0,
                rng: np.random.Generator | None = None) -> tuple[list[int], list[np.ndarray], list[str]]:
    """(kept row indices, their images (size, size, 3) uint8, their captions): rows with an empty caption or an
    undecodable image are dropped. The one rule for what training (and the embedding cache) keeps."""
    kept, images, captions = [], [], []
    for i, (data, text) in enumerate(zip(jpgs, texts, strict=True)):
        if text is None or not str(text).strip():
            continue
        try:
            images.append(load_image(bytes(data), size, area_min, rng))
        except Exception:  # noqa: BLE001 - any undecodable image is skipped, never fatal
            continue
        kept.append(i)
        captions.append(str(text))
    return kept, images, captions


def preprocess_batch(batch: dict[str, Sequence], *, size: int, tokenizer: str, max_len: int,
                     area_min: float = 1.0, seed: int | None = None) -> dict[str, np.ndarray]:
    """{jpg, txt, ...} -> {image (B, size, size, 3) uint8, ids (B, T), mask (B, T)}; bad rows dropped."""
    _, images, texts = decode_rows(batch["jpg"], batch["txt"], size, area_min, np.random.default_rng(seed))
    tokens = get_tokenizer(tokenizer, max_len)(texts)
    image = np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)
    return {"image": image, "ids": tokens.ids, "mask": tokens.mask}
