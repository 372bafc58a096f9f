"""Image hashes for deduplication: an exact content hash and a 64-bit perceptual hash (DCT pHash).

- ``content_hash``: sha1 of the decoded RGB pixels and the size, so the same picture saved twice (other JPEG
  settings excluded: those change pixels) or re-wrapped in another container hashes alike, while any pixel
  change gives another hash.
- ``phash``: the picture as 32x32 grayscale, its 2-D DCT-II, the 8x8 lowest frequencies (DC excluded from the
  median), one bit per coefficient above their median. Resizing, re-encoding and small recolouring move few
  bits; ``hamming`` counts the differing bits (0..64).
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

SIDE, LOW = 32, 8


def _dct_matrix(n: int) -> np.ndarray:
    """(n, n) orthonormal DCT-II basis: rows are frequencies."""
    k, x = np.arange(n)[:, None], np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


DCT = _dct_matrix(SIDE)


def _image(data: bytes | Image.Image) -> Image.Image:
    if isinstance(data, Image.Image):
        return data
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def content_hash(data: bytes | Image.Image) -> str:
    """Hex sha1 of the RGB pixels (and the size) of encoded image bytes or a PIL image."""
    img = _image(data).convert("RGB")
    h = hashlib.sha1(f"{img.width}x{img.height}".encode())
    h.update(img.tobytes())
    return h.hexdigest()


def phash(data: bytes | Image.Image) -> int:
    """64-bit perceptual hash as a non-negative int (fits int64 after ``to_signed``)."""
    gray = _image(data).convert("RGB").convert("L").resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(gray, np.float64)  # (32, 32)
    low = (DCT @ pixels @ DCT.T)[:LOW, :LOW].flatten()  # (64,) lowest frequencies
    bits = low > np.median(low[1:])
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def to_signed(h: int) -> int:
    """The same 64 bits as a signed int64 (parquet has no uint64 in every reader)."""
    return h - (1 << 64) if h >= 1 << 63 else h


def hamming(a: int, b: int) -> int:
    """Differing bits between two 64-bit hashes (signed or unsigned)."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()
