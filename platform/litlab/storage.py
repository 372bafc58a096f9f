"""Local paths and ``s3://`` URIs behind one small API (pyarrow filesystems).

S3 credentials and endpoint come from the standard AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``~/.aws``, instance roles; ``AWS_ENDPOINT_URL`` for an S3-compatible server). Nothing here logs or stores them.
S3 requests that fail with a transient error (5xx, SlowDown, timeouts) are retried with exponential backoff, up to
``S3_MAX_ATTEMPTS`` attempts; then the error names the URI.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import uuid
from collections.abc import Iterator

import pyarrow.fs as pafs

REMOTE_SCHEMES = ("s3://", "gs://", "hdfs://")
S3_MAX_ATTEMPTS = 8  # per S3 request, transient errors included (pyarrow's default is 3)


def is_remote(uri: str) -> bool:
    return str(uri).startswith(REMOTE_SCHEMES)


def resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path (``~`` expanded, made absolute) or a remote URI."""
    uri = str(uri)
    if is_remote(uri):
        fs, path = pafs.FileSystem.from_uri(uri)
        if isinstance(fs, pafs.S3FileSystem):
            fs = with_retries(fs)
        return fs, path.rstrip("/")
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(uri))


def with_retries(fs: pafs.S3FileSystem) -> pafs.S3FileSystem:
    """The same S3 filesystem (region, endpoint, credentials chain) with AWS's standard retry strategy:
    exponential backoff with jitter on throttling (503 SlowDown), 5xx and network errors."""
    options = fs.__reduce__()[1][0]  # the options from_uri resolved (explicit keys only if the URI held them)
    strategy = pafs.AwsStandardS3RetryStrategy(max_attempts=S3_MAX_ATTEMPTS)
    return pafs.S3FileSystem(**options, retry_strategy=strategy)


def join(uri: str, *parts: str) -> str:
    """``uri`` / parts, keeping the scheme of a remote URI."""
    uri = str(uri)
    if is_remote(uri):
        return posixpath.join(uri.rstrip("/"), *parts)
    return os.path.join(uri, *parts)


def file_type(uri: str) -> pafs.FileType:
    """What ``uri`` is (NotFound, File, Directory); an OSError naming ``uri`` when storage does not answer."""
    fs, path = resolve(uri)
    try:
        return fs.get_file_info(path).type
    except OSError as err:
        raise named_error(err, f"cannot look up {uri}") from err


def exists(uri: str) -> bool:
    return file_type(uri) != pafs.FileType.NotFound


def is_file(uri: str) -> bool:
    return file_type(uri) == pafs.FileType.File


def is_dir(uri: str) -> bool:
    return file_type(uri) == pafs.FileType.Directory


def read_bytes(uri: str) -> bytes:
    fs, path = resolve(uri)
    try:
        with fs.open_input_stream(path) as f:
            return f.read()
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{uri} does not exist") from err
    except OSError as err:
        raise named_error(err, f"cannot read {uri}") from err


def read_text(uri: str, encoding: str = "utf-8") -> str:
    return read_bytes(uri).decode(encoding)


def write_bytes_atomic(uri: str, data: bytes) -> None:
    """Write ``data`` so readers see the old file or the whole new one: a temporary name, then a move
    (S3 object writes are atomic already, so they are written in place). A failed write (a full disk, S3 errors
    past the retries) leaves no file under either name and raises an OSError naming ``uri``."""
    fs, path = resolve(uri)
    if is_remote(uri):
        try:
            with fs.open_output_stream(path) as f:
                f.write(data)
        except OSError as err:
            raise write_error(uri, err) from err
        return
    fs.create_dir(posixpath.dirname(path), recursive=True)
    tmp = temporary_name(path)
    try:
        with fs.open_output_stream(tmp) as f:
            f.write(data)
        fs.move(tmp, path)
    except OSError as err:
        remove_quietly(tmp)
        raise write_error(uri, err) from err


def temporary_name(path: str) -> str:
    """A hidden, unique sibling of ``path`` (``.name.<random>.tmp``): listings skip it, writers never share it."""
    return posixpath.join(posixpath.dirname(path), f".{posixpath.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")


def remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` is ENOSPC (by errno, or by its text: some pyarrow errors carry it only there)."""
    return getattr(err, "errno", None) == errno.ENOSPC or "no space left on device" in str(err).lower()


def write_error(uri: str, err: OSError) -> OSError:
    """An OSError naming ``uri``; a full disk says so in words and keeps errno ENOSPC."""
    if is_disk_full(err):
        return OSError(errno.ENOSPC, f"no space left on device while writing {uri} (nothing was written under "
                                     f"that name; earlier files are untouched): {err}")
    return named_error(err, f"cannot write {uri}")


def named_error(err: OSError, what: str) -> OSError:
    """``what: err`` as an OSError keeping the errno when there is one (pyarrow's S3 errors have none)."""
    number = getattr(err, "errno", None)
    return OSError(number, f"{what}: {err}") if number is not None else OSError(f"{what}: {err}")


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
    """``root``/``relative``, refusing a relative path that escapes ``root`` (``..``, absolute paths, URIs and, for
    a local root, symbolic links that lead out of it)."""
    rel = posixpath.normpath(str(relative).replace("\\", "/"))
    if rel.startswith(("/", "../")) or rel == ".." or "://" in str(relative) or rel[1:3] == ":/":
        raise ValueError(f"path {relative!r} escapes its root {root}")
    joined = join(root, rel)
    if not is_remote(root):
        real_root = os.path.realpath(resolve(root)[1])
        real = os.path.realpath(resolve(joined)[1])
        if os.path.commonpath([real_root, real]) != real_root:
            raise ValueError(f"path {relative!r} escapes its root {root} through a symbolic link (to {real})")
    return joined
