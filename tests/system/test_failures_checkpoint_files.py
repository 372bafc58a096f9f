"""Checkpoint files lose nothing: a checkpoint is whole or absent (a partial or damaged one is never loaded, the
previous one is), leftovers are swept, a full disk is a clear error that leaves the previous checkpoint
loadable, and a checkpoint holding code is refused without running it.

System tests only because litlab.cluster.checkpoints imports Ray (so `-m "not system"` needs no Ray); they start
no cluster and no server."""

from __future__ import annotations

import errno
import io
import logging
import subprocess
import sys
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import torch
from pickled_code import Exploit
from pyarrow.fs import LocalFileSystem

pytestmark = pytest.mark.system


def _model_bytes(step: int, size: int = 4) -> bytes:
    buf = io.BytesIO()
    torch.save({"model": {"w": torch.full((size,), float(step))}, "step": step}, buf)
    return buf.getvalue()


def _checkpoint(run: Path, step: int, fs: pafs.FileSystem | None = None, model: bytes | None = None) -> str:
    from litlab.cluster.checkpoint_store import new_name, write_folder

    files = {"model.pt": _model_bytes(step) if model is None else model, "history.json": b"{}"}
    return write_folder(fs or LocalFileSystem(), str(run), new_name(step), files, {"step": step})


def _checkpoints(root: Path, steps: list[int]) -> list[str]:
    """Complete checkpoint folders, newest first."""
    return [_checkpoint(root, step) for step in steps][::-1]


def _load(folder: str) -> dict:
    from litlab.cluster.checkpoints import read_checkpoint

    return read_checkpoint(LocalFileSystem(), folder)[0]


def _truncate(folder: str) -> None:
    path = Path(folder) / "model.pt"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_a_checkpoint_folder_appears_whole_with_a_manifest_written_last(tmp_path):
    import json

    from litlab.cluster.checkpoint_store import read_verified

    folder = _checkpoint(tmp_path, 20)
    assert Path(folder).name.startswith("checkpoint_000000020_")
    assert sorted(p.name for p in Path(folder).iterdir()) == ["history.json", "manifest.json", "model.pt"]
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    size = (Path(folder) / "model.pt").stat().st_size
    assert manifest["step"] == 20 and manifest["files"]["model.pt"]["bytes"] == size
    files, _ = read_verified(LocalFileSystem(), folder)
    assert files["model.pt"] == (Path(folder) / "model.pt").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [Path(folder).name]  # no staging folder left


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog):
    from litlab.cluster.checkpoint_store import newest_loadable

    newest, previous, oldest = _checkpoints(tmp_path, [10, 20, 30])
    _truncate(newest)
    with caplog.at_level(logging.WARNING, logger="litlab.cluster.checkpoint_store"):
        folder, payload = newest_loadable([newest, previous, oldest], _load)
    assert (folder, payload["step"]) == (previous, 20) and payload["model"]["w"].tolist() == [20.0] * 4
    assert len(caplog.records) == 1 and newest in caplog.text and "does not match its manifest" in caplog.text


DAMAGE = ["truncated", "missing_file", "missing_manifest", "one_byte_changed", "bad_zip", "not_litlab", "empty"]


@pytest.mark.parametrize("damage", DAMAGE)
def test_every_kind_of_damage_is_skipped_with_a_warning_naming_it(tmp_path, caplog, damage):
    """Damage after the write (the manifest no longer matches), or a whole write of bytes that are no checkpoint."""
    from litlab.cluster.checkpoint_store import newest_loadable

    previous = _checkpoint(tmp_path, 5)
    written = {"bad_zip": b"PK\x03\x04" + bytes(range(256)) * 8, "empty": b""}
    if damage == "not_litlab":
        buf = io.BytesIO()
        torch.save({"weights": torch.zeros(2)}, buf)
        written[damage] = buf.getvalue()
    newest = _checkpoint(tmp_path, 10, model=written.get(damage))
    path = Path(newest) / "model.pt"
    if damage == "truncated":
        _truncate(newest)
    elif damage == "missing_file":
        path.unlink()
    elif damage == "missing_manifest":
        (Path(newest) / "manifest.json").unlink()
    elif damage == "one_byte_changed":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="litlab.cluster.checkpoint_store"):
        folder, payload = newest_loadable([newest, previous], _load)
    assert (folder, payload["step"]) == (previous, 5)
    assert newest in caplog.text


def test_when_no_checkpoint_loads_the_error_lists_every_attempt(tmp_path):
    from litlab.cluster.checkpoint_store import CheckpointError, newest_loadable

    folders = _checkpoints(tmp_path, [1, 2, 3])
    _truncate(folders[0])
    (Path(folders[1]) / "model.pt").unlink()
    (Path(folders[2]) / "manifest.json").unlink()
    with pytest.raises(CheckpointError) as err:
        newest_loadable(folders, _load)
    text = str(err.value)
    assert "none of the 3 checkpoint(s)" in text and all(f in text for f in folders)
    assert text.index(folders[0]) < text.index(folders[1]) < text.index(folders[2])  # newest first
    assert "partial write" in text  # the one without a manifest


def test_candidates_are_the_registered_checkpoints_newest_first_then_the_others(tmp_path):
    from litlab.cluster.checkpoint_store import candidates

    oldest, registered_old, unregistered, registered_new, newest = (_checkpoint(tmp_path, s) for s in (1, 2, 3, 4, 5))
    (tmp_path / "checkpoint_manager_snapshot.json").write_text("{}")
    (tmp_path / "other_folder").mkdir()
    names = [Path(registered_old).name, Path(registered_new).name]
    ours, others = candidates(LocalFileSystem(), str(tmp_path), names)
    assert ours == [registered_new, registered_old]  # a registered checkpoint first, even if an older one
    assert others == [newest, unregistered, oldest]


def _die_while_writing(run: Path, object_store: bool) -> int:
    """SIGKILL-like death (os._exit: no cleanup runs) of a writer between model.pt and the manifest."""
    code = f"""
import os, sys
import pyarrow.fs as pafs
import litlab.cluster.checkpoint_store as store
real = store._write
def dying(fs, path, data, local):
    if path.endswith(store.MANIFEST):
        os._exit(9)
    real(fs, path, data, local)
store._write = dying
fs = pafs.SubTreeFileSystem("/", pafs.LocalFileSystem()) if {object_store} else pafs.LocalFileSystem()
store.write_folder(fs, {str(run)!r}, store.new_name(30), {{"model.pt": b"x" * 1000}}, {{"step": 30}})
"""
    return subprocess.run([sys.executable, "-c", code], check=False).returncode


@pytest.mark.parametrize("object_store", [False, True], ids=["local-disk", "object-store"])
def test_a_writer_killed_midway_leaves_no_checkpoint_and_its_leftovers_are_swept(tmp_path, object_store):
    """Local disk: nothing under a final name (the staging folder holds the partial write). An object store (a
    filesystem without rename, here local disk seen through another filesystem type): a folder without a
    manifest, never loaded. Both are removed by the sweep a resumed run does, the registered checkpoint kept."""
    from litlab.cluster.checkpoint_store import candidates, newest_loadable, sweep

    kept = _checkpoint(tmp_path, 20)
    unregistered = _checkpoint(tmp_path, 25)
    assert _die_while_writing(tmp_path, object_store) == 9
    ours, others = candidates(LocalFileSystem(), str(tmp_path), [Path(kept).name])
    assert ours == [kept] and len(others) == (2 if object_store else 1)  # the partial one, under its final name
    assert newest_loadable(others, _load)[0] == unregistered  # the partial write is never loaded
    removed = sweep(LocalFileSystem(), str(tmp_path), [Path(kept).name])
    assert unregistered in removed and (str(tmp_path / ".staging") in removed) != object_store
    assert sorted(p.name for p in tmp_path.iterdir()) == [Path(kept).name]


def test_a_failed_write_removes_what_it_wrote_and_names_the_folder(tmp_path, monkeypatch):
    import litlab.cluster.checkpoint_store as store

    (kept,) = _checkpoints(tmp_path, [7])

    class Dying(io.FileIO):
        def write(self, data) -> int:
            super().write(bytes(data)[:100])
            raise OSError(errno.EIO, "the machine went away")

    monkeypatch.setattr(store, "open", lambda path, mode: Dying(path, mode), raising=False)
    with pytest.raises(OSError, match=rf"cannot write {tmp_path}/checkpoint_000000008_\w+: .*went away"):
        _checkpoint(tmp_path, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".staging", Path(kept).name]
    assert list((tmp_path / ".staging").iterdir()) == [] and _load(kept)["step"] == 7  # swept by the next start


# --- a full disk ----------------------------------------------------------------------------------------------
def test_a_full_disk_while_checkpointing_is_a_clear_error_and_the_previous_checkpoint_loads(small_disk):
    from litlab.cluster.checkpoint_store import candidates, newest_loadable

    older = _checkpoint(small_disk, 10, model=_model_bytes(10, 1000))
    full = rf"no space left on device while writing {small_disk}/checkpoint_000000020_"
    with pytest.raises(OSError, match=full) as err:
        _checkpoint(small_disk, 20, model=_model_bytes(20, 1_000_000))  # 4 MB into 2 MiB
    assert err.value.errno == errno.ENOSPC
    ours, others = candidates(LocalFileSystem(), str(small_disk), [])
    assert others == [older] and list((small_disk / ".staging").iterdir()) == []  # no half folder anywhere
    folder, payload = newest_loadable(others, _load)
    assert (folder, payload["step"]) == (older, 10) and payload["model"]["w"].sum() == 10_000


# --- code inside a checkpoint ----------------------------------------------------------------------------------
def test_a_checkpoint_holding_code_is_refused_and_the_code_never_runs(tmp_path):
    from litlab.cluster.checkpoint_store import new_name, newest_loadable, write_folder
    from litlab.cluster.checkpoints import CheckpointError, load_payload, read_checkpoint
    from pyarrow.fs import LocalFileSystem

    armed = tmp_path / "armed"
    torch.save({"model": Exploit(armed), "step": 1}, tmp_path / "proof.pt")
    torch.load(tmp_path / "proof.pt", weights_only=False)  # the payload is live: an unsafe loader runs it
    assert armed.exists()

    marker = tmp_path / "pwned"
    torch.save({"model": Exploit(marker), "step": 5}, tmp_path / "evil.pt")
    evil = (tmp_path / "evil.pt").read_bytes()
    with pytest.raises(CheckpointError, match=r"refused checkpoint .*evil/model.pt.*weights_only=True"):
        load_payload(evil, str(tmp_path / "evil" / "model.pt"))
    # written whole, its manifest matching: only the loader stands between the file and the code in it
    folder = write_folder(LocalFileSystem(), str(tmp_path / "run"), new_name(5), {"model.pt": evil}, {"step": 5})
    with pytest.raises(CheckpointError, match="(?s)none of the 1 checkpoint.*refused checkpoint"):
        newest_loadable([folder], lambda f: read_checkpoint(LocalFileSystem(), f))
    assert not marker.exists(), "loading the checkpoint ran the code inside it"
