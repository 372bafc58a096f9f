"""The near-duplicate pool of experiments/benchmarks/dedup_quality.py (its part 1): evaluation images E from four
sources that ship here plus emoji renders, and tuning images T made from them by edits, by other vendors' drawings
of the same emoji, and unrelated negatives; every image stored as the shard writer stores it. Not a script:
`python experiments/benchmarks/dedup_quality.py` imports it; building the pool (K = 60: 300 E, 2,040 T images)
takes ~10 s of that run on a 2-core CPU."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from litlab.data.shards import encode_jpeg
from litlab.data.sources import fashion_mnist as fm
from litlab.data.sources.emoji import load_font, parse_emoji_test, render_emoji, select_entries
from litlab.data.sources.emoji_styles import default_prefix, image_dir, read_entries
from litlab.data.sources.openclipart import ROOT as CLIPART_ROOT
from litlab.data.sources.openclipart import png_files
from litlab.data.sources.tuxpaint import ROOT as TUXPAINT_ROOT
from litlab.data.sources.tuxpaint import walk_stamps
from litlab.data.transforms import decode, to_rgb
from PIL import Image, ImageEnhance

EDITS = ("copy", "jpeg30", "half", "crop", "hue", "bright")
KINDS = (*EDITS, "noto-vendor", "vendor-vendor")
VENDORS = ("google", "apple", "twitter")
MAX_SIDE = 256  # stamps and clip art are scaled down first (the sources' shards hold up to 512 px)

@dataclass
class Pool:
    """E (evaluation) and T (tuning) as JPEG bytes, with where each tuning image came from."""

    e_jpg: list[bytes] = field(default_factory=list)
    e_src: list[str] = field(default_factory=list)  # source name of each E image
    t_jpg: list[bytes] = field(default_factory=list)
    t_src: list[str] = field(default_factory=list)
    t_kind: list[str] = field(default_factory=list)  # an EDITS/KINDS name, or "negative"
    t_of: list[int] = field(default_factory=list)  # the E index it was made from, -1 for negatives

    def add_e(self, img: Image.Image, src: str) -> int:
        self.e_jpg.append(encode_jpeg(img))
        self.e_src.append(src)
        return len(self.e_jpg) - 1

    def add_t(self, data: bytes, src: str, kind: str, of: int) -> None:
        self.t_jpg.append(data)
        self.t_src.append(src)
        self.t_kind.append(kind)
        self.t_of.append(of)


def spaced(items: list, n: int) -> list:
    return [items[i * len(items) // n] for i in range(n)] if n < len(items) else list(items)


def small(img: Image.Image) -> Image.Image:
    img = to_rgb(img)
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return img


def hue_shift(img: Image.Image, turn: float) -> Image.Image:
    hsv = np.asarray(img.convert("HSV")).copy()
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + round(turn * 256)) % 256).astype(np.uint8)
    return Image.fromarray(hsv, "HSV").convert("RGB")


def edit(img: Image.Image, kind: str, rng: np.random.Generator) -> bytes:
    """The tuning copy of an E image (already decoded from its shard JPEG) under one edit, as stored bytes."""
    if kind == "jpeg30":
        return encode_jpeg(img, quality=30)
    if kind == "half":
        img = img.resize((max(1, img.width // 2), max(1, img.height // 2)), Image.Resampling.BICUBIC)
    elif kind == "crop":
        f = rng.uniform(0.80, 0.90)
        w, h = round(img.width * f), round(img.height * f)
        x, y = (img.width - w) // 2, (img.height - h) // 2
        img = img.crop((x, y, x + w, y + h))
    elif kind == "hue":
        img = hue_shift(img, rng.choice([-1, 1]) * rng.uniform(0.05, 0.15))
    elif kind == "bright":
        img = ImageEnhance.Brightness(img).enhance(rng.choice([rng.uniform(0.7, 0.85), rng.uniform(1.15, 1.3)]))
    return encode_jpeg(img)


def sources(k: int) -> dict[str, list[Image.Image]]:
    """2K images of each non-emoji source: the first K for E, the next K as negatives."""
    stamps, _ = walk_stamps(TUXPAINT_ROOT)
    clip = [CLIPART_ROOT / "png" / p for p in png_files(CLIPART_ROOT)]
    images, _ = fm.load_split("test")
    return {
        "tuxpaint": [small(Image.open(p)) for p in spaced(stamps, 2 * k)],
        "openclipart": [small(Image.open(p)) for p in spaced(clip, 2 * k)],
        "fmnist": [Image.fromarray(a).convert("RGB") for a in spaced(list(images), 2 * k)],
    }


def emoji_sets(k: int) -> tuple[list, dict[str, dict[str, Path]]]:
    """3K emoji that Noto renders and all three vendors draw (sets A, B, C), and each vendor's image paths."""
    prefix = default_prefix()
    vendor = {v: {e["unified"]: image_dir(prefix, v) / e["image"] for e in read_entries(prefix, v)
                  if e.get(f"has_img_{v}")} for v in VENDORS}
    font = load_font()
    drawn = [e for e in select_entries(parse_emoji_test()) if all("-".join(e.codepoints) in vendor[v] for v in VENDORS)]
    picked = []
    for e in spaced(drawn, 3 * k + 20):  # a few spare: Noto cannot draw every sequence
        img = render_emoji(e.text, font)
        if img is not None:
            picked.append(("-".join(e.codepoints), img))
    return picked[:3 * k], vendor


def build_pool(k: int, seed: int = 0) -> Pool:
    rng = np.random.default_rng(seed)
    pool = Pool()
    originals: list[tuple[int, str]] = []
    for src, imgs in sources(k).items():
        for img in imgs[:k]:
            originals.append((pool.add_e(img, src), src))
        for img in imgs[k:]:
            pool.add_t(encode_jpeg(img), src, "negative", -1)
    emoji, vendor = emoji_sets(k)
    a, b, c = emoji[:k], emoji[k:2 * k], emoji[2 * k:]
    vendor_png = {v: {u: encode_png(to_rgb(Image.open(p))) for u, p in paths.items()} for v, paths in vendor.items()}
    for unified, img in a:
        i = pool.add_e(img, "emoji")
        originals.append((i, "emoji"))
        for v in VENDORS:
            pool.add_t(vendor_png[v][unified], "emoji", "noto-vendor", i)
    for unified, _ in b:
        i = pool.add_e(Image.open(io.BytesIO(vendor_png["google"][unified])), "emoji-google")
        for v in ("apple", "twitter"):
            pool.add_t(vendor_png[v][unified], "emoji", "vendor-vendor", i)
    for unified, img in c:
        pool.add_t(encode_jpeg(img), "emoji", "negative", -1)
        pool.add_t(vendor_png["apple"][unified], "emoji", "negative", -1)
    for i, src in originals:
        stored = decode(pool.e_jpg[i])  # what the evaluation shard holds
        for kind in EDITS:
            pool.add_t(pool.e_jpg[i] if kind == "copy" else edit(stored, kind, rng), src, kind, i)
    return pool


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
