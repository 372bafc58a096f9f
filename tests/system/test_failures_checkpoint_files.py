"""Checkpoint files lose nothing: a corrupt or half-written checkpoint falls back to the previous one, a file
appears whole or not at all, a full disk is a clear error that leaves the previous checkpoint loadable, and a
checkpoint holding code is refused without running it.

System tests only because litlab.cluster.checkpoints imports Ray (so `-m "not system"` needs no Ray); they start
no cluster and no server."""

from __future__ import annotations

import errno
import io
import logging
from pathlib import Path

import pytest
import torch
from pickled_code import Exploit
from pyarrow.fs import LocalFileSystem

pytestmark = pytest.mark.system


def _checkpoints(root: Path, steps: list[int]) -> list[str]:
    """Ray-style checkpoint folders (names sort by time), each with a good model.pt; newest first."""
    from litlab.cluster.checkpoints import save_payload

    folders = []
    for i, step in enumerate(steps):
        folder = root / f"checkpoint_2026-01-01_00-00-{i:02d}.000000"
        folder.mkdir(parents=True)
        save_payload({"model": {"w": torch.full((4,), float(step))}, "step": step}, folder)
        folders.append(str(folder))
    return folders[::-1]


def _load(folder: str) -> dict:
    from litlab.cluster.checkpoints import read_checkpoint

    return read_checkpoint(LocalFileSystem(), folder)


def _truncate(folder: str) -> None:
    path = Path(folder) / "model.pt"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog):
    from litlab.cluster.checkpoints import newest_loadable

    newest, previous, oldest = _checkpoints(tmp_path, [10, 20, 30])
    _truncate(newest)
    with caplog.at_level(logging.WARNING, logger="litlab.cluster.checkpoints"):
        folder, payload = newest_loadable([newest, previous, oldest], _load)
    assert (folder, payload["step"]) == (previous, 20) and payload["model"]["w"].tolist() == [20.0] * 4
    assert len(caplog.records) == 1 and newest in caplog.text and "trying the previous one" in caplog.text


@pytest.mark.parametrize("damage", ["missing", "bad_zip", "not_litlab", "empty"])
def test_every_kind_of_damage_is_skipped_with_a_warning_naming_it(tmp_path, caplog, damage):
    from litlab.cluster.checkpoints import newest_loadable

    newest, previous = _checkpoints(tmp_path, [5, 10])
    path = Path(newest) / "model.pt"
    if damage == "missing":
        path.unlink()
    elif damage == "bad_zip":
        path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    elif damage == "not_litlab":
        torch.save({"weights": torch.zeros(2)}, path)
    else:
        path.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="litlab.cluster.checkpoints"):
        folder, payload = newest_loadable([newest, previous], _load)
    assert (folder, payload["step"]) == (previous, 5)
    assert str(path) in caplog.text


def test_when_no_checkpoint_loads_the_error_lists_every_attempt(tmp_path):
    from litlab.cluster.checkpoints import CheckpointError, newest_loadable

    folders = _checkpoints(tmp_path, [1, 2, 3])
    _truncate(folders[0])
    (Path(folders[1]) / "model.pt").unlink()
    (Path(folders[2]) / "model.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError) as err:
        newest_loadable(folders, _load)
    text = str(err.value)
    assert "none of the 3 checkpoint(s)" in text and all(f"{f}/model.pt" in text for f in folders)
    assert text.index(folders[0]) < text.index(folders[1]) < text.index(folders[2])  # newest first


def test_candidates_are_the_latest_then_its_siblings_newest_first(tmp_path):
    from litlab.cluster.checkpoints import checkpoint_folders

    newest, middle, oldest = _checkpoints(tmp_path, [1, 2, 3])
    (tmp_path / "checkpoint_manager_snapshot.json").write_text("{}")
    (tmp_path / "other_folder").mkdir()
    assert checkpoint_folders(LocalFileSystem(), middle) == [middle, newest, oldest]  # Ray's pick comes first
    assert checkpoint_folders(LocalFileSystem(), newest) == [newest, middle, oldest]


def test_a_crash_while_saving_leaves_no_half_file_and_the_old_one_intact(tmp_path, monkeypatch):
    import litlab.cluster.checkpoints as ckpt

    (folder,) = _checkpoints(tmp_path, [7])
    good = (Path(folder) / "model.pt").read_bytes()

    class Dying(io.FileIO):
        def write(self, data) -> int:
            super().write(bytes(data)[:100])
            raise OSError(errno.EIO, "the machine went away")

    monkeypatch.setattr(ckpt, "open", lambda path, mode: Dying(path, mode), raising=False)
    with pytest.raises(OSError, match=f"cannot write {folder}/model.pt"):
        ckpt.save_payload({"model": {"w": torch.zeros(1000)}, "step": 8}, Path(folder))
    assert sorted(p.name for p in Path(folder).iterdir()) == ["model.pt"]  # no temporary left behind
    assert (Path(folder) / "model.pt").read_bytes() == good and _load(folder)["step"] == 7


# --- a full disk ----------------------------------------------------------------------------------------------
def test_a_full_disk_while_checkpointing_is_a_clear_error_and_the_previous_checkpoint_loads(small_disk):
    from litlab.cluster.checkpoints import newest_loadable, save_payload

    older, newer = small_disk / "checkpoint_a", small_disk / "checkpoint_b"
    older.mkdir()
    newer.mkdir()
    save_payload({"model": {"w": torch.ones(1000)}, "step": 10}, older)
    with pytest.raises(OSError, match=f"no space left on device while writing {newer}/model.pt") as err:
        save_payload({"model": {"w": torch.ones(1_000_000)}, "step": 20}, newer)  # 4 MB into 2 MiB
    assert err.value.errno == errno.ENOSPC
    assert list(newer.iterdir()) == []  # neither a half model.pt nor a temporary
    folder, payload = newest_loadable([str(newer), str(older)], _load)
    assert (folder, payload["step"]) == (str(older), 10) and payload["model"]["w"].sum() == 1000


# --- code inside a checkpoint ----------------------------------------------------------------------------------
def test_a_checkpoint_holding_code_is_refused_and_the_code_never_runs(tmp_path):
    from litlab.cluster.checkpoints import CheckpointError, load_payload, newest_loadable, read_checkpoint

    armed = tmp_path / "armed"
    torch.save({"model": Exploit(armed), "step": 1}, tmp_path / "proof.pt")
    torch.load(tmp_path / "proof.pt", weights_only=False)  # the payload is live: an unsafe loader runs it
    assert armed.exists()

    marker = tmp_path / "pwned"
    folder = tmp_path / "checkpoint_evil"
    folder.mkdir()
    torch.save({"model": Exploit(marker), "step": 5}, folder / "model.pt")
    with pytest.raises(CheckpointError, match=r"refused checkpoint .*checkpoint_evil/model.pt.*weights_only=True"):
        load_payload((folder / "model.pt").read_bytes(), str(folder / "model.pt"))
    with pytest.raises(CheckpointError, match="(?s)none of the 1 checkpoint.*refused checkpoint"):
        newest_loadable([str(folder)], lambda f: read_checkpoint(LocalFileSystem(), f))
    assert not marker.exists(), "loading the checkpoint ran the code inside it"
