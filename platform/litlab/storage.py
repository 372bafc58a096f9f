"""Local paths and ``s3://`` URIs behind one small API (pyarrow filesystems).

S3 credentials and endpoint come from the standard AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``~/.aws``, instance roles; ``AWS_ENDPOINT_URL`` for an S3-compatible server). Nothing here logs or stores them.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator

import pyarrow.fs as pafs

REMOTE_SCHEMES = ("s3://", "gs://", "hdfs://")


def is_remote(uri: str) -> bool:
    return str(uri).startswith(REMOTE_SCHEMES)


def resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path (``~`` expanded, made absolute) or a remote URI."""
    uri = str(uri)
    if is_remote(uri):
        fs, path = pafs.FileSystem.from_uri(uri)
        return fs, path.rstrip("/")
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(uri))


def join(uri: str, *parts: str) -> str:
    """``uri`` / parts, keeping the scheme of a remote URI."""
    uri = str(uri)
    if is_remote(uri):
        return posixpath.join(uri.rstrip("/"), *parts)
    return os.path.join(uri, *parts)


def exists(uri: str) -> bool:
    fs, path = resolve(uri)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def is_file(uri: str) -> bool:
    fs, path = resolve(uri)
    return fs.get_file_info(path).type == pafs.FileType.File


def is_dir(uri: str) -> bool:
    fs, path = resolve(uri)
    return fs.get_file_info(path).type == pafs.FileType.Directory


def read_bytes(uri: str) -> bytes:
    fs, path = resolve(uri)
    try:
        with fs.open_input_stream(path) as f:
            return f.read()
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{uri} does not exist") from err


def read_text(uri: str, encoding: str = "utf-8") -> str:
    return read_bytes(uri).decode(encoding)


def write_bytes_atomic(uri: str, data: bytes) -> None:
    """Write ``data`` so readers see the old file or the whole new one: a temporary name, then a move
    (S3 object writes are atomic already, so they are written in place)."""
    fs, path = resolve(uri)
    if is_remote(uri):
        with fs.open_output_stream(path) as f:
            f.write(data)
        return
    fs.create_dir(posixpath.dirname(path), recursive=True)
    tmp = posixpath.join(posixpath.dirname(path), f".{posixpath.basename(path)}.tmp")
    with fs.open_output_stream(tmp) as f:
        f.write(data)
    fs.move(tmp, path)


def list_files(uri: str, suffixes: tuple[str, ...] = (), recursive: bool = False) -> list[str]:
    """Sorted URIs of the files under ``uri`` whose names end with one of ``suffixes`` (all if empty);
    hidden files (``.name``, temporary writes) are left out."""
    fs, path = resolve(uri)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        raise FileNotFoundError(f"{uri} is not a folder (or does not exist)")
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=recursive))
    names = sorted(i.path for i in infos if i.type == pafs.FileType.File
                   and not posixpath.basename(i.path).startswith(".")
                   and (not suffixes or i.path.endswith(suffixes)))
    return [_to_uri(uri, path, n) for n in names]


def walk_files(uri: str, suffixes: tuple[str, ...] = ()) -> Iterator[str]:
    yield from list_files(uri, suffixes, recursive=True)


def _to_uri(root_uri: str, root_path: str, found: str) -> str:
    """A path the filesystem returned, in the form of ``root_uri`` (scheme kept for remote roots)."""
    if not is_remote(root_uri):
        return found
    rel = posixpath.relpath(found, root_path)
    return posixpath.join(str(root_uri).rstrip("/"), rel)


def inside(root: str, relative: str) -> str:
    """``root``/``relative``, refusing a relative path that escapes ``root`` (``..``, absolute paths)."""
    rel = posixpath.normpath(str(relative).replace("\\", "/"))
    if rel.startswith(("/", "../")) or rel == ".." or "://" in rel:
        raise ValueError(f"path {relative!r} escapes its root {root}")
    return join(root, rel)
