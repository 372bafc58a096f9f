"""Checkpoint folders in a Train run's storage, whole or absent, on local disk and on S3 alike.

A checkpoint is the folder ``<run>/checkpoint_<step>_<id>`` holding its files and ``manifest.json``, written last:
each file's size and sha256, the step, the run and the attempt that wrote it. Nothing else counts as a checkpoint:
a folder without a manifest, or whose files do not match it, is a partial write and is never loaded.

- Local disk: the files and the manifest are written (and fsynced) in ``<run>/.staging/<name>`` and the folder is
  renamed into place, so a folder under a final name is always complete.
- Object stores (no rename): each object appears whole or not at all, and the manifest is written after the files;
  a folder whose writer died before its manifest is a partial write, found and removed by ``sweep``.

Temporary files live under the run's own storage (``.staging``), never in the system temp dir; ``sweep`` removes
them with every unregistered checkpoint folder when a run resumes or finishes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import posixpath
import uuid
from collections.abc import Callable, Collection, Sequence
from typing import Any

import pyarrow.fs as pafs

from litlab import storage

PREFIX = "checkpoint_"
MANIFEST = "manifest.json"
STAGING = ".staging"
log = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: partial, damaged, not a litlab checkpoint, or refused as unsafe."""


def new_name(step: int) -> str:
    """A fresh folder name that sorts by step: ``checkpoint_000000020_1a2b3c4d``."""
    return f"{PREFIX}{step:09d}_{uuid.uuid4().hex[:8]}"


def digest(data: bytes) -> dict[str, Any]:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_folder(fs: pafs.FileSystem, run: str, name: str, files: dict[str, bytes], meta: dict[str, Any]) -> str:
    """``run/name`` holding ``files`` and, last, their manifest (with ``meta``); returns its path. A failed write
    (full disk, S3 errors past the retries) removes what it wrote and raises an OSError naming the folder."""
    manifest = json.dumps({**meta, "files": {n: digest(b) for n, b in files.items()}}, indent=1).encode()
    final = posixpath.join(run, name)
    local = isinstance(fs, pafs.LocalFileSystem)
    target = posixpath.join(run, STAGING, name) if local else final
    try:
        fs.create_dir(target, recursive=True)
        for file, data in [*files.items(), (MANIFEST, manifest)]:
            _write(fs, posixpath.join(target, file), data, local)
        if local:
            os.replace(target, final)  # one rename: the folder appears whole under its final name
            with contextlib.suppress(OSError):
                os.rmdir(posixpath.dirname(target))  # the staging folder, unless another write is in it
    except OSError as err:
        _remove(fs, target)
        raise storage.write_error(final, err) from err
    return final


def _write(fs: pafs.FileSystem, path: str, data: bytes, local: bool) -> None:
    if not local:
        with fs.open_output_stream(path) as f:
            f.write(data)
        return
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def read_verified(fs: pafs.FileSystem, folder: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(files, manifest) of a complete checkpoint folder; CheckpointError naming what is missing or does not match
    its manifest (a partial write, a truncated or altered file)."""
    path = posixpath.join(folder, MANIFEST)
    try:
        manifest = json.loads(_read(fs, path))
        listed = dict(manifest["files"])
    except FileNotFoundError as err:
        raise CheckpointError(f"checkpoint {folder} has no {MANIFEST}: a partial write (its writer stopped "
                              "before the end), never loaded") from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"cannot read {path}: {type(err).__name__}: {err}") from err
    files = {}
    for name, expected in listed.items():
        file = posixpath.join(folder, name)
        try:
            data = _read(fs, file)
        except OSError as err:
            raise CheckpointError(f"cannot read checkpoint {file}: {err}") from err
        if digest(data) != expected:
            raise CheckpointError(f"checkpoint {file} does not match its manifest: {len(data)} bytes, expected "
                                  f"{expected['bytes']} with sha256 {expected['sha256'][:12]}... (damaged or "
                                  "truncated)")
        files[name] = data
    return files, manifest


def _read(fs: pafs.FileSystem, path: str) -> bytes:
    with fs.open_input_stream(path) as f:
        return f.read()


def folders(fs: pafs.FileSystem, run: str) -> list[str]:
    """Every ``checkpoint_*`` folder of the run, newest step first (complete or not)."""
    infos = fs.get_file_info(pafs.FileSelector(run, allow_not_found=True))
    return sorted((i.path for i in infos if i.type == pafs.FileType.Directory
                   and posixpath.basename(i.path).startswith(PREFIX)), key=posixpath.basename, reverse=True)


def candidates(fs: pafs.FileSystem, run: str, registered: Collection[str]) -> tuple[list[str], list[str]]:
    """(registered, others): the run's checkpoint folders to try when restoring, each newest first. ``registered``
    holds the folder names Ray Train recorded; the others were written but never recorded (their writer died)."""
    names = {posixpath.basename(r.rstrip("/")) for r in registered}
    found = folders(fs, run)
    ours = [f for f in found if posixpath.basename(f) in names]
    return ours, [f for f in found if f not in ours]


def newest_loadable(folders_: Sequence[str], load: Callable[[str], Any]) -> tuple[str, Any]:
    """(folder, loaded) of the first of ``folders_`` that loads; each one that does not is named in a warning.
    CheckpointError listing every attempt when none loads."""
    tried: list[str] = []
    for folder in folders_:
        try:
            return folder, load(folder)
        except CheckpointError as err:
            tried.append(str(err))
            log.warning("checkpoint %s cannot be restored (%s); trying the previous one", folder, err)
    raise CheckpointError(f"none of the {len(folders_)} checkpoint(s) of this run can be restored; tried, "
                          "newest first:\n  " + "\n  ".join(tried or ["(none found)"]))


def sweep(fs: pafs.FileSystem, run: str, keep: Collection[str]) -> list[str]:
    """Remove the run's leftovers: every checkpoint folder whose name is not in ``keep`` (unregistered or partial
    ones) and the staging folder. Returns what was removed; a failure to remove is a warning, never an error."""
    names = {posixpath.basename(k.rstrip("/")) for k in keep}
    doomed = [f for f in folders(fs, run) if posixpath.basename(f) not in names]
    staging = posixpath.join(run, STAGING)
    if fs.get_file_info(staging).type == pafs.FileType.Directory:
        doomed.append(staging)
    return [f for f in doomed if _remove(fs, f)]


def _remove(fs: pafs.FileSystem, path: str) -> bool:
    try:
        if fs.get_file_info(path).type == pafs.FileType.NotFound:
            return False
        fs.delete_dir(path)
        return True
    except OSError as err:
        log.warning("could not remove %s: %s", path, err)
        return False
