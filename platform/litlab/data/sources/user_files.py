"""What the sources of users' own files share: finding the input files, reading them safely, and turning
(image bytes, captions) into a Record.

Every file is read through ``litlab.storage``, so each source works on local paths and ``s3://`` alike.
Relative paths that come from users' files (a COCO ``file_name``, a csv ``path``) go through ``safe_join``:
one that escapes its root is skipped as ``unsafe_path``. Image bytes that are JPEG already are kept as they
are (no second lossy encode, no time spent); other formats are decoded with the training decoder
(``litlab.data.transforms.decode``) and encoded once as JPEG. Skip reasons raised here: ``missing_file``,
``unreadable_file``, ``unsafe_path``, ``empty_caption``, ``caption_not_utf8``, ``corrupt_image``, ``too_large``.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

from PIL import Image

from litlab import storage
from litlab.data.shards import Record, encode_jpeg
from litlab.data.sources.base import SkipRecord
from litlab.data.transforms import BadImage, decode, open_image

KEPT_FORMATS = frozenset({"JPEG", "MPO"})  # MPO: phone photos, a JPEG with extra frames; stored as it is
SCALARS = (str, int, float, bool)


def require_folder(uri: str, what: str) -> str:
    """``uri`` if it is a folder; FileNotFoundError naming it otherwise."""
    if not storage.is_dir(uri):
        state = "is a file, not a folder" if storage.is_file(uri) else "not found"
        raise FileNotFoundError(f"{what} {state}: {uri}")
    return uri


def require_file(uri: str, what: str) -> str:
    if not storage.is_file(uri):
        state = "is a folder, not a file" if storage.is_dir(uri) else "not found"
        raise FileNotFoundError(f"{what} {state}: {uri}")
    return uri


def input_files(uri: str, suffixes: tuple[str, ...], what: str) -> list[tuple[str, str]]:
    """(file URI, name) of ``uri`` itself or of every ``suffixes`` file under it, sorted; ``name`` is the
    path relative to ``uri`` without the suffix (the file's stem for a single file)."""
    if storage.is_file(uri):
        if not str(uri).endswith(suffixes):
            raise ValueError(f"{what} {uri}: expected a folder or a file ending in {', '.join(suffixes)}")
        return [(uri, strip_suffix(posixpath.basename(str(uri).rstrip("/")), suffixes))]
    files = list(storage.walk_files(require_folder(uri, what), suffixes))
    if not files:
        raise FileNotFoundError(f"no {', '.join(suffixes)} files under {what} {uri}")
    return [(f, strip_suffix(relative(uri, f), suffixes)) for f in files]


def strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    return next((name[: -len(s)] for s in suffixes if name.endswith(s)), name)


def relative(root: str, found: str) -> str:
    """The path of ``found`` (as ``storage.walk_files(root)`` returned it) relative to ``root``, '/'-separated."""
    if storage.is_remote(root):
        return found[len(str(root).rstrip("/")) + 1:]
    return posixpath.relpath(found, storage.resolve(root)[1])


def file_version(uri: str) -> str:
    """Size and modification time: part of cache keys, so a rewritten file is never served from a cache."""
    fs, path = storage.resolve(uri)
    info = fs.get_file_info(path)
    return f"{info.size}-{info.mtime_ns}"


def safe_join(root: str, rel: str) -> str:
    """``root``/``rel`` for a relative path from a user's file; SkipRecord("unsafe_path") if it escapes."""
    try:
        return storage.inside(root, rel)
    except ValueError as err:
        raise SkipRecord("unsafe_path", str(err)) from None


def read_file(uri: str) -> bytes:
    """The bytes of ``uri``; SkipRecord("missing_file") when absent, ("unreadable_file") on other errors."""
    try:
        return storage.read_bytes(uri)
    except FileNotFoundError:
        raise SkipRecord("missing_file", uri) from None
    except OSError as err:  # a folder with an image's name, permissions, ...
        raise SkipRecord("unreadable_file", f"{uri}: {err}") from None


def decode_caption(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SkipRecord("caption_not_utf8", where) from None


def clean_captions(captions: Iterable[Any]) -> tuple[str, ...]:
    """The non-blank captions, stripped; SkipRecord("empty_caption") when none is left."""
    kept = tuple(s for c in captions if c is not None and (s := str(c).strip()))
    if not kept:
        raise SkipRecord("empty_caption")
    return kept


def to_jpeg(data: bytes, max_side: int = 0) -> tuple[bytes, dict[str, Any]]:
    """(JPEG bytes, {width, height[, format]}): JPEG input kept byte for byte, other formats encoded once;
    an image wider or taller than ``max_side`` (0: no limit) is scaled down, aspect kept, and re-encoded."""
    try:
        with open_image(data) as img:  # reads the header only
            fmt, (width, height) = img.format, img.size
    except BadImage as err:
        raise SkipRecord(err.reason, str(err)) from None
    info: dict[str, Any] = {"width": width, "height": height}
    shrink = bool(max_side) and max(width, height) > max_side
    if fmt in KEPT_FORMATS and not shrink:
        return data, info
    try:
        rgb = decode(data)
    except BadImage as err:
        raise SkipRecord(err.reason, str(err)) from None
    if shrink:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return encode_jpeg(rgb), {**info, "format": str(fmt or "unknown").lower()}


def make_record(key: str, data: bytes, captions: tuple[str, ...], meta: Mapping[str, Any]) -> Record:
    """The Record of one image; ``captions`` already cleaned (``clean_captions``), the first is ``txt``."""
    jpg, info = to_jpeg(data)
    return Record(key=key, jpg=jpg, txt=captions[0], meta={**meta, **info},
                  captions=captions if len(captions) > 1 else ())


def scalar_fields(values: Mapping[str, Any], leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """The str/int/float/bool entries of ``values`` (metadata columns, a sample's json), minus ``leave_out``."""
    skip = set(leave_out)
    return {k: v for k, v in values.items() if k not in skip and isinstance(v, SCALARS)}


def parse_json_object(data: bytes | str | None) -> dict[str, Any]:
    """A json object's scalar fields; {} for anything else (bad json is metadata lost, not an image lost)."""
    if not data:
        return {}
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return scalar_fields(value) if isinstance(value, dict) else {}
