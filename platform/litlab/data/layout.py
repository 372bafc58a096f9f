"""Where a training split lives and which of its columns training reads, checked from parquet footers alone.

The layout: ``<data.root>/<data.train>/`` is a folder (local or ``s3://``) of parquet files. Two kinds train as they
are, told apart by their columns:

- litlab shards (``python -m litlab.data.build``, ``python -m litlab.cluster.build_shards``): ``jpg`` (image bytes),
  ``txt`` (the caption), ``txts`` (every caption of the image), ``key``, ``sha1``, ``phash``, ``json``;
- img2dataset's ``--output_format parquet`` output: ``jpg`` (null on the rows it failed to download or resize),
  ``caption``, ``status`` (``success`` or why not), ``key``, ``url``... Rows whose status is not ``success`` or whose
  image is missing are skipped by the decoder and counted as ``no_image``.

Any other parquet names its columns with ``data.image_column`` / ``data.caption_column`` (checked to exist in every
file with the right type: the parquet reader would drop a missing column without a word). Folders that need a build
first (webdataset tars, image files with caption files) get a DataError holding the one command that builds shards.
"""

from __future__ import annotations

import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from litlab import storage
from litlab.data.shards import verify_split
from litlab.data.sources.image_folder import is_image_file
from litlab.errors import DataError

IMAGE_COLUMN = "jpg"  # litlab's and img2dataset's
CAPTION_COLUMNS = ("txt", "caption")  # litlab's, then img2dataset's
CAPTIONS_COLUMN = "txts"  # litlab shards: every caption of the image (a list)
STATUS_COLUMN = "status"  # img2dataset's download status (transforms.OK_STATUS = kept)
KEY_COLUMN = "key"
FOOTER_THREADS = 16  # parquet footers read at once (an S3 round trip each)


@dataclass(frozen=True)
class SplitLayout:
    split: str  # the split folder (path or s3:// URI)
    files: tuple[str, ...]  # its parquet files
    image: str  # column of encoded image bytes
    caption: str  # column of the caption
    captions: str = ""  # list<string> column of every caption ("" = none)
    status: str = ""  # img2dataset's status column ("" = none)
    key: str = ""  # a unique key per row ("" = none)

    @property
    def columns(self) -> dict[str, str]:
        """{column in the files: the name the decoder reads it as} (jpg, txt, txts, status)."""
        named = {self.image: "jpg", self.caption: "txt", self.captions: "txts", self.status: "status"}
        return {column: name for column, name in named.items() if column}


def build_command(source: str, input_uri: str, out: str) -> str:
    return f"python -m litlab.cluster.build_shards {source} --input {input_uri} --out {out}"


def split_layout(root: str, split: str, image_column: str = "", caption_column: str = "",
                 check_all: bool = True) -> SplitLayout:
    """The layout of ``root/split``, or a DataError naming what is missing and how to fix it. ``check_all``: every
    file's footer is read (the preflight); otherwise the first file's only (the run; the decoder checks the rest)."""
    folder = storage.join(root, split)
    files = _parquet_files(root, split, folder)
    schemas = _schemas(files if check_all else files[:1])
    first = schemas[files[0]]
    if (image_column or IMAGE_COLUMN) not in first.names and (needs_build := _needs_build(root, split, folder)):
        raise DataError(needs_build)  # e.g. img2dataset's webdataset output: tars beside image-less parquet
    layout = SplitLayout(folder, tuple(files), *_choose(first, image_column, caption_column, folder))
    for uri, schema in schemas.items():
        _check_types(schema, layout, uri)
    return layout


def folder_layout(folder: str, image_column: str = "", caption_column: str = "") -> SplitLayout:
    """``split_layout`` of a split given as its folder (a path or URI)."""
    folder = str(folder).rstrip("/")
    return split_layout(posixpath.dirname(folder) or ".", posixpath.basename(folder), image_column, caption_column)


def _parquet_files(root: str, split: str, folder: str) -> list[str]:
    if not storage.is_dir(folder):
        raise DataError(_missing_split(root, split, folder))
    try:
        return verify_split(folder)
    except FileNotFoundError as err:
        needs_build = _needs_build(root, split, folder)
        raise DataError(needs_build or f"{err} (data.train={split!r} under data.root={root!r})") from None


def _missing_split(root: str, split: str, folder: str) -> str:
    where = f"no split folder {folder} (data.root={root!r}, data.train={split!r}); the layout is " \
            f"<data.root>/<data.train>/*.parquet"
    if not storage.is_dir(root):
        return f"{where}, and data.root does not exist: set data.root to the folder holding your split folder " \
               f"(the demo data: `make data`)"
    found = [posixpath.basename(f.rstrip("/")) for f in _subfolders(root)]
    listing = f"folders there: {', '.join(found[:20])}" if found else "it holds no folders"
    return f"{where}; {listing}. Set data.train to one of them, or data.root to the folder that holds yours"


def _subfolders(root: str) -> list[str]:
    import pyarrow.fs as pafs

    fs, path = storage.resolve(root)
    infos = fs.get_file_info(pafs.FileSelector(path))
    return sorted(i.path for i in infos if i.type == pafs.FileType.Directory and not i.base_name.startswith("."))


def _needs_build(root: str, split: str, folder: str) -> str:
    """Why a folder without usable parquet is not trainable, with the build command; "" when unrecognised."""
    files = storage.list_files(folder, recursive=True)
    out = storage.join(root, f"{split}-shards")
    then = f"then --set data.train={split}-shards"
    if any(f.endswith(".tar") for f in files):
        return (f"{folder} holds webdataset tars (img2dataset --output_format webdataset); training reads parquet "
                f"shards: build them once with `{build_command('webdataset', folder, out)}`, {then}")
    if any(is_image_file(f) for f in files):
        return (f"{folder} holds image files (img2dataset --output_format files, or your own folder with a caption "
                f"file beside each image); build shards once with `{build_command('folder', folder, out)}`, {then}")
    return ""


def _schemas(files: list[str]) -> dict[str, pa.Schema]:
    def read(uri: str) -> pa.Schema:
        fs, path = storage.resolve(uri)
        try:
            with fs.open_input_file(path) as f:
                return pq.read_schema(f)
        except (OSError, pa.ArrowInvalid) as err:
            raise DataError(f"cannot read the parquet footer of {uri}: {err}; rebuild or remove that file") from err

    with ThreadPoolExecutor(min(FOOTER_THREADS, len(files))) as pool:
        return dict(zip(files, pool.map(read, files), strict=True))


def _choose(schema: pa.Schema, image_column: str, caption_column: str, folder: str) -> tuple[str, ...]:
    """(image, caption, captions, status, key) columns from the first file's schema."""
    names = schema.names
    image = image_column or IMAGE_COLUMN
    caption = caption_column or next((c for c in CAPTION_COLUMNS if c in names), "")
    missing = [f"image column {image!r}" if image not in names else "",
               "" if caption in names else
               "caption column " + (repr(caption) if caption else " or ".join(map(repr, CAPTION_COLUMNS)))]
    if any(missing):
        raise DataError(_missing_columns(folder, names, [m for m in missing if m]))
    captions = CAPTIONS_COLUMN if CAPTIONS_COLUMN in names and not caption_column else ""
    status = STATUS_COLUMN if STATUS_COLUMN in names else ""
    return image, caption, captions, status, KEY_COLUMN if KEY_COLUMN in names else ""


def _missing_columns(folder: str, names: list[str], missing: list[str]) -> str:
    return (f"{folder} has no {' and no '.join(missing)}; its columns: {', '.join(names)}. Name the image and "
            f"caption columns with --set data.image_column=COLUMN --set data.caption_column=COLUMN")


def _check_types(schema: pa.Schema, layout: SplitLayout, uri: str) -> None:
    wanted = {layout.image: (pa.types.is_binary, pa.types.is_large_binary, "binary (encoded image bytes)"),
              layout.caption: (pa.types.is_string, pa.types.is_large_string, "string"),
              layout.status: (pa.types.is_string, pa.types.is_large_string, "string")}
    for column, (test, large, kind) in wanted.items():
        if not column:
            continue
        if column not in schema.names:
            raise DataError(f"{uri} has no column {column!r} (the split's first file has it; every file of a split "
                            f"needs the same columns): rebuild that file or move it out of {layout.split}")
        if not (test(schema.field(column).type) or large(schema.field(column).type)):
            raise DataError(f"column {column!r} of {uri} is {schema.field(column).type}, not {kind}; name the right "
                            f"column with --set data.image_column=... / data.caption_column=...")
