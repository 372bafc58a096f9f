"""What two checkpoint tests share (no tests here): a writer that dies right before its manifest."""

from __future__ import annotations

import subprocess
import sys
from typing import Literal

FILESYSTEMS = {  # how the writer sees ``run``: as litlab.storage resolves it (s3://...), or local disk seen directly
    "resolved": "fs, path = storage.resolve(run)",  # or through another filesystem type, which has no rename
    "local": "fs, path = pafs.LocalFileSystem(), run",
    "object-store": 'fs, path = pafs.SubTreeFileSystem("/", pafs.LocalFileSystem()), run',
}


def die_before_the_manifest(run: str, size: int, filesystem: Literal["resolved", "local", "object-store"]) -> int:
    """Run a process that writes a step-30 checkpoint of ``size`` bytes into ``run``, dying SIGKILL-like (os._exit:
    no cleanup) between model.pt and the manifest; its exit code (9)."""
    code = f"""
import os
import pyarrow.fs as pafs
import litlab.cluster.checkpoint_store as store
from litlab import storage
real = store._write
def dying(fs, path, data, local):
    if path.endswith(store.MANIFEST):
        os._exit(9)
    real(fs, path, data, local)
store._write = dying
run = {run!r}
{FILESYSTEMS[filesystem]}
store.write_folder(fs, path, store.new_name(30), {{"model.pt": b"x" * {size}}}, {{"step": 30}})
"""
    return subprocess.run([sys.executable, "-c", code], check=False).returncode
