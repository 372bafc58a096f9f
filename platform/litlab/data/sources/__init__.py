"""Shard sources, one module each; importing this package registers them all in ``base.SOURCES``."""

import litlab.data.sources.coco  # noqa: F401
import litlab.data.sources.csv_pairs  # noqa: F401
import litlab.data.sources.emoji  # noqa: F401
import litlab.data.sources.emoji_styles  # noqa: F401
import litlab.data.sources.fashion_mnist  # noqa: F401
import litlab.data.sources.image_folder  # noqa: F401
import litlab.data.sources.img2dataset  # noqa: F401
import litlab.data.sources.openclipart  # noqa: F401
import litlab.data.sources.tuxpaint  # noqa: F401
import litlab.data.sources.webdataset  # noqa: F401
from litlab.data.sources.base import SOURCES, SkipRecord, Source, iter_records, make_source  # noqa: E402

__all__ = ["SOURCES", "SkipRecord", "Source", "iter_records", "make_source"]
