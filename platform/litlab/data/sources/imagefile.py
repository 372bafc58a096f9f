"""One local image file -> JPEG bytes for a shard (``user_files.to_jpeg``: the training decoder's rules).

Unusable files raise SkipRecord with the decoder's reasons (``too_large``, ``corrupt_image``) or
``missing_file``. Images larger than ``max_side`` are scaled down (aspect kept) before encoding, so clip art
drawn at 16000 px does not become a 30 MB row.
"""

from __future__ import annotations

from pathlib import Path

from litlab.data.sources.base import SkipRecord
from litlab.data.sources.user_files import to_jpeg


def read_image(path: Path, max_side: int = 0) -> bytes:
    """JPEG bytes of the image at ``path`` (RGB, transparency on white); ``max_side`` 0 keeps its size."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SkipRecord("missing_file", str(path)) from None
    return to_jpeg(data, max_side)[0]
